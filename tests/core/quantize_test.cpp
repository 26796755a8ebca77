// Row codecs: k-quant blocks built by hand decode to values worked out here; quantize then
// dequantize stays within each format's bound on seeded random data; names, ids and row sizes.
#include "core/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace moe {
namespace {

template <class Block>
std::vector<float> dequantize_block(DType dtype, const Block& block) {
  std::vector<float> out(kQKBlock);
  dequantize_row(dtype, reinterpret_cast<const std::byte*>(&block), out.data(), kQKBlock);
  return out;
}

// d = 0.5, dmin = 0.25; sub-block scales sc and mins m below, with values >= 16 in the last four
// so that their top bits land in bits 6..7 of bytes 0..7. Byte 32 k + l of qs holds l % 16 in its
// low nibble (sub-block 2k) and 15 - l % 16 in its high one (sub-block 2k + 1).
TEST(QuantizeQ4K, HandBuiltBlockDecodes) {
  const int sc[8] = {1, 2, 3, 4, 17, 33, 48, 63};
  const int m[8] = {0, 1, 2, 3, 16, 20, 40, 63};
  // 17 = 01'0001, 33 = 10'0001, 48 = 11'0000, 63 = 11'1111; 16 = 01'0000, 20 = 01'0100,
  // 40 = 10'1000, 63 = 11'1111 (top 2 bits ' low 4 bits).
  BlockQ4_K block{.d = 0x3800, .dmin = 0x3400, .scales = {}, .qs = {}};
  const uint8_t scales[12] = {1 | 1 << 6, 2 | 2 << 6, 3 | 3 << 6, 4 | 3 << 6,     // sc 0..3, top bits of sc 4..7
                              0 | 1 << 6, 1 | 1 << 6, 2 | 2 << 6, 3 | 3 << 6,     // m 0..3, top bits of m 4..7
                              1 | 0 << 4, 1 | 4 << 4, 0 | 8 << 4, 15 | 15 << 4};  // low bits of sc | m 4..7
  std::memcpy(block.scales, scales, sizeof scales);
  for (int l = 0; l < 128; ++l) block.qs[l] = static_cast<uint8_t>((l % 16) | (15 - l % 16) << 4);
  const std::vector<float> w = dequantize_block(DType::kQ4_K, block);
  for (int j = 0; j < 8; ++j) {
    for (int l = 0; l < 32; ++l) {
      const int q = j % 2 == 0 ? l % 16 : 15 - l % 16;
      EXPECT_EQ(w[32 * j + l], 0.5f * sc[j] * q - 0.25f * m[j]) << "sub-block " << j << " weight " << l;
    }
  }
  EXPECT_EQ(w[0], 0.0f);          // sc 1, m 0, q 0
  EXPECT_EQ(w[32 + 3], 11.75f);   // 0.5 * 2 * 12 - 0.25 * 1
  EXPECT_EQ(w[128 + 5], 38.5f);   // 0.5 * 17 * 5 - 0.25 * 16
  EXPECT_EQ(w[192 + 18], 38.0f);  // sub-block 6 (low nibbles): q 2; 48 - 10
  EXPECT_EQ(w[224], 456.75f);     // 0.5 * 63 * 15 - 0.25 * 63
}

// d = 0.25; sub-block scales s - 8, except -128 first and 127 last. Weight e has q = e % 64: in a
// half, weight 32 i + l has q = 32 (i % 2) + l, so every ql nibble is l % 16 and the bit pair of
// quarter i is 2 (i % 2) + l / 16.
TEST(QuantizeQ6K, HandBuiltBlockDecodes) {
  BlockQ6_K block{.ql = {}, .qh = {}, .scales = {}, .d = 0x3400};
  for (int s = 0; s < 16; ++s) block.scales[s] = static_cast<int8_t>(s - 8);
  block.scales[0] = -128;
  block.scales[15] = 127;
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      block.ql[64 * half + l] = block.ql[64 * half + 32 + l] = static_cast<uint8_t>((l % 16) * 0x11);
      const int b = l / 16;
      block.qh[32 * half + l] = static_cast<uint8_t>(b | (2 + b) << 2 | b << 4 | (2 + b) << 6);
    }
  }
  EXPECT_EQ(block.qh[0], 0x88);
  EXPECT_EQ(block.qh[16], 0xdd);
  const std::vector<float> w = dequantize_block(DType::kQ6_K, block);
  for (int e = 0; e < 256; ++e) EXPECT_EQ(w[e], 0.25f * block.scales[e / 16] * (e % 64 - 32)) << "weight " << e;
  EXPECT_EQ(w[0], 1024.0f);    // 0.25 * -128 * (0 - 32)
  EXPECT_EQ(w[100], -2.0f);    // scale 6 - 8 = -2, q 36: 0.25 * -2 * 4
  EXPECT_EQ(w[255], 984.25f);  // 0.25 * 127 * (63 - 32)
}

// Seeded rows of kinds that stress the fits: uniform, Gaussian, all positive (q4_K's min clamps
// to 0), one outlier per block, and exact zeros.
std::vector<std::vector<float>> test_rows() {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  const int64_t n = 16 * kQKBlock;
  std::vector<std::vector<float>> rows(5, std::vector<float>(n));
  for (int64_t i = 0; i < n; ++i) {
    rows[0][i] = uniform(rng);
    rows[1][i] = normal(rng);
    rows[2][i] = 3.0f + uniform(rng);
    rows[3][i] = i % 97 == 0 ? 40.0f * uniform(rng) : uniform(rng);
    rows[4][i] = i < kQKBlock ? 0.0f : uniform(rng) * 1e-3f;
  }
  return rows;
}

// Largest |x - dequantize(quantize(x))| / (max - min of x over its 256-weight block).
double worst_relative_error(DType dtype, const std::vector<float>& x) {
  std::vector<std::byte> bytes(row_bytes(dtype, static_cast<int64_t>(x.size())));
  quantize_row(dtype, x.data(), bytes.data(), static_cast<int64_t>(x.size()));
  std::vector<float> y(x.size());
  dequantize_row(dtype, bytes.data(), y.data(), static_cast<int64_t>(x.size()));
  double worst = 0.0;
  for (size_t b = 0; b < x.size(); b += kQKBlock) {
    const auto [lo, hi] = std::minmax_element(x.begin() + b, x.begin() + b + kQKBlock);
    const double range = std::max(*hi, 0.0f) - std::min(*lo, 0.0f);
    for (size_t i = b; i < b + kQKBlock; ++i) {
      const double err = std::fabs(static_cast<double>(x[i]) - y[i]);
      if (range == 0.0) {
        EXPECT_EQ(y[i], 0.0f) << "zero block, weight " << i;
      } else {
        worst = std::max(worst, err / range);
      }
    }
  }
  return worst;
}

// q4_K has 16 levels per 32-weight sub-block, so an error of half a step is range / 30; the fit may
// trade the extremes for a better mean square (candidate steps range / 16 .. range / 14), and the
// 6-bit scales and mins, and the fp16 d and dmin (subnormal for the 1e-3 row), round again: the
// rows above reach 0.047; range / 16 bounds them with room.
// amax = 127 gives d = 1, so q is x rounded: ties go away from zero (std::round, as ggml's
// quantize_row_q8_0_ref), and the float just below a half goes down.
TEST(QuantizeQ8_0, RoundsTiesAwayFromZero) {
  std::vector<float> x(kQBlock, 0.0f);
  const std::vector<float> head = {
      127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 126.5f, -126.5f, std::nextafter(0.5f, 0.0f), -std::nextafter(2.5f, 0.0f)};
  std::copy(head.begin(), head.end(), x.begin());
  BlockQ8_0 block;
  quantize_row(DType::kQ8_0, x.data(), reinterpret_cast<std::byte*>(&block), kQBlock);
  EXPECT_EQ(block.d, 0x3c00);  // fp16 1.0
  const std::vector<int> expected = {127, 1, -1, 2, -3, 127, -127, 0, -2};
  for (size_t j = 0; j < expected.size(); ++j) EXPECT_EQ(block.qs[j], expected[j]) << "column " << j;
  for (int j = static_cast<int>(expected.size()); j < kQBlock; ++j) EXPECT_EQ(block.qs[j], 0);
}

TEST(QuantizeQ4K, RoundTripWithinBound) {
  for (const auto& x : test_rows()) EXPECT_LE(worst_relative_error(DType::kQ4_K, x), 1.0 / 16);
}

// q5_K: q4_K's fits with 32 levels, so half a step is range / 62; the 6-bit scales and mins and the
// fp16 d and dmin round as for q4_K. The rows above reach 0.025, and 0.037 for the 1e-3 row, whose
// d and dmin are fp16 subnormals (q4_K: 0.047 there); range / 24 bounds them.
TEST(QuantizeQ5K, RoundTripWithinBound) {
  for (const auto& x : test_rows()) EXPECT_LE(worst_relative_error(DType::kQ5_K, x), 1.0 / 24);
}

// q6_K maps the extreme of each 16 weights to -32 steps: half a step is range / 64 at most; the
// 8-bit sub-block scales and the fp16 d (subnormal for the 1e-3 row) round again: the rows above
// reach 0.030; range / 24 bounds them.
TEST(QuantizeQ6K, RoundTripWithinBound) {
  for (const auto& x : test_rows()) EXPECT_LE(worst_relative_error(DType::kQ6_K, x), 1.0 / 24);
}

TEST(DType, KQuantNamesIdsAndRowSizes) {
  EXPECT_STREQ(dtype_info(DType::kQ4_K).name, "q4_K");
  EXPECT_STREQ(dtype_info(DType::kQ6_K).name, "q6_K");
  EXPECT_EQ(dtype_from_name("q4_k", "--dtype"), DType::kQ4_K);
  EXPECT_EQ(dtype_from_name("Q4_K", "--dtype"), DType::kQ4_K);
  EXPECT_EQ(dtype_from_name("q6_K", "--dtype"), DType::kQ6_K);
  EXPECT_EQ(dtype_from_name("Q6_k", "--dtype"), DType::kQ6_K);
  DType dtype = DType::kF32;
  EXPECT_TRUE(dtype_from_gguf_id(12, dtype));
  EXPECT_EQ(dtype, DType::kQ4_K);
  EXPECT_TRUE(dtype_from_gguf_id(14, dtype));
  EXPECT_EQ(dtype, DType::kQ6_K);
  EXPECT_TRUE(dtype_from_gguf_id(13, dtype));
  EXPECT_EQ(dtype, DType::kQ5_K);
  EXPECT_EQ(dtype_from_name("Q5_k", "--dtype"), DType::kQ5_K);
  EXPECT_FALSE(dtype_from_gguf_id(15, dtype));  // q8_K (ggml's intermediate type, never in files)
  EXPECT_EQ(row_bytes(DType::kQ4_K, 512), 288);
  EXPECT_EQ(row_bytes(DType::kQ6_K, 4096), 16 * 210);
}

TEST(DType, KQuantRowMustBeWholeSuperBlocks) {
  for (DType dtype : {DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    try {
      row_bytes(dtype, 4096 + 32);
      FAIL() << "no error";
    } catch (const FormatError& e) {
      EXPECT_EQ(std::string(e.what()), std::string("row of 4128 elements is not a whole number of ") +
                                           dtype_info(dtype).name + " blocks of 256");
    }
  }
}

TEST(DType, UnknownNameListsKQuants) {
  try {
    dtype_from_name("q3_K", "--dtype");  // read only: no quantizer
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--dtype: unknown dtype 'q3_K' (expected f32, f16, bf16, q8_0, q4_0, q4_K, q5_K or q6_K)");
  }
}

}  // namespace
}  // namespace moe
