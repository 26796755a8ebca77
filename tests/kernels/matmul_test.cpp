// matmul: every dtype (i8 / f8_e4m3 with per-row scales) on every kernel level this CPU has
// against the reference, on seeded random data and odd shapes (bit for bit for the
// quantized-activation dtypes q8_0 and q4_0 and the column-sequential f32 / f16 / bf16, whose
// weights may also be in panels); bit-identical
// results for any thread count and batch; the quantized-activation algorithm against the exact
// product within its derived bound; the reference itself against hand-computed dot products;
// argument errors.
#include "kernels/matmul/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/quantize.h"
#include "kernels/matmul/matmul_kernels.h"
#include "kernels/matmul/matmul_panels.h"

namespace moe::kernels {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Columns for `dtype`: `float_cols` for plain floats, `q_cols` (a multiple of 32) for the 32-weight
// block formats, and as many 256-weight blocks as q_cols has 32-weight ones for the k-quants.
int64_t cols_for(DType dtype, int64_t float_cols, int64_t q_cols) {
  const int64_t block = dtype_info(dtype).block_elems;
  return block == 1 ? float_cols : q_cols / kQBlock * block;
}

// q2_K and q3_K have no quantizer (moe reads them only): random block bytes, with the fp16 scales
// (d, and q2_K's dmin) set to finite values that keep the weights within about [-1, 1].
bool random_blocks(DType dtype, std::mt19937& rng, std::byte* row, int64_t cols) {
  if (dtype != DType::kQ2_K && dtype != DType::kQ3_K) return false;
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.002f, 0.05f);
  const int64_t block_bytes = dtype_info(dtype).block_bytes;
  for (int64_t i = 0; i < row_bytes(dtype, cols); ++i) row[i] = static_cast<std::byte>(byte(rng));
  for (int64_t b = 0; b < cols / kQKBlock; ++b) {
    std::byte* block = row + b * block_bytes;
    const uint16_t d = f32_to_f16(scale(rng)), dmin = f32_to_f16(scale(rng));
    if (dtype == DType::kQ2_K) {
      std::memcpy(block + offsetof(BlockQ2_K, d), &d, 2);
      std::memcpy(block + offsetof(BlockQ2_K, dmin), &dmin, 2);
    } else {
      std::memcpy(block + offsetof(BlockQ3_K, d), &d, 2);
    }
  }
  return true;
}

// Random weights in [-1, 1), encoded as `dtype`. i8 / f8_e4m3 get codes over their whole range
// (uniform values over amax / 127 or / 448: f8 subnormals included) and per-row power-of-two
// scales 2^-(3 + r % 4), so that scaling is exact and one-hot products stay exact.
Tensor random_weight(DType dtype, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(cols);
  const int64_t stride = row_bytes(dtype, cols);
  std::vector<std::byte> bytes(rows * stride);
  QuantScales scales;
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : values) v = dist(rng);
    if (is_scaled_8bit(dtype)) {
      quantize_scaled_row(dtype, values.data(), absmax_scale(dtype, 1.0f), bytes.data() + r * stride, cols);
      scales.weight.push_back(std::ldexp(1.0f, -3 - static_cast<int>(r % 4)));
    } else if (!random_blocks(dtype, rng, bytes.data() + r * stride, cols)) {
      quantize_row(dtype, values.data(), bytes.data() + r * stride, cols);
    }
  }
  const Tensor w = Tensor::from_bytes(dtype, {rows, cols}, std::move(bytes));
  return is_scaled_8bit(dtype) ? w.with_scales(std::move(scales)) : w;
}

// n_tokens rows of `cols` random activations at stride ldx; the padding is NaN, so a kernel that
// reads past cols poisons its output.
std::vector<float> random_activations(int64_t n_tokens, int64_t cols, int64_t ldx, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(n_tokens * ldx, kNaN);
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t c = 0; c < cols; ++c) x[t * ldx + c] = dist(rng);
  return x;
}

// y (n_tokens x ldy, padding NaN, never written) = W x on `level`.
std::vector<float> run_matmul(IsaLevel level, const Tensor& w, const std::vector<float>& x, int64_t ldx,
                              int64_t n_tokens, int64_t ldy, ThreadPool* pool) {
  std::vector<float> y(n_tokens * ldy, kNaN);
  matmul_with_level(level, w, {.x = x.data(), .ldx = ldx, .y = y.data(), .ldy = ldy, .n_tokens = n_tokens}, pool);
  return y;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct LevelCase {
  DType dtype;
  IsaLevel level;
};

void PrintTo(const LevelCase& c, std::ostream* out) {
  *out << dtype_info(c.dtype).name << "/" << isa_level_name(c.level);
}

class MatmulLevel : public testing::TestWithParam<LevelCase> {
 protected:
  void SetUp() override {
    const char* missing = missing_feature(GetParam().level, cpu_features());
    if (missing != nullptr) GTEST_SKIP() << "this CPU lacks " << missing;
  }
};

TEST_P(MatmulLevel, MatchesRefOnOddShapes) {
  const auto [dtype, level] = GetParam();
  const int64_t block = dtype_info(dtype).block_elems;
  const std::vector<int64_t> col_sizes = block == 1    ? std::vector<int64_t>{1, 31, 33, 4097}
                                         : block == 32 ? std::vector<int64_t>{32, 64, 96, 4096 + 32}
                                                       : std::vector<int64_t>{256, 512, 4096 + 256};
  uint32_t seed = 1;
  for (int64_t cols : col_sizes) {
    for (int64_t rows : {1, 3, 17, 64}) {
      for (int64_t n_tokens : {1, 2, 3, 4, 6, 17, 40}) {
        SCOPED_TRACE(testing::Message() << "rows " << rows << " cols " << cols << " tokens " << n_tokens);
        const Tensor w = random_weight(dtype, rows, cols, seed++);
        const int64_t ldx = cols + 3, ldy = rows + 5;
        const std::vector<float> x = random_activations(n_tokens, cols, ldx, seed++);
        const std::vector<float> y = run_matmul(level, w, x, ldx, n_tokens, ldy, nullptr);
        const std::vector<float> y_ref = run_matmul(IsaLevel::kRef, w, x, ldx, n_tokens, ldy, nullptr);
        if (uses_quantized_activations(dtype) || uses_sequential_order(dtype)) {
          // Every level does the same float operations in the same order (matmul_kernels.h:
          // exact integer sums for q8_0 / q4_0, one fma chain per output for f32 / f16 / bf16):
          // the same bits, padding (NaN) included; weights in panels too.
          EXPECT_TRUE(same_bits(y, y_ref));
          if (uses_sequential_order(dtype)) {
            EXPECT_TRUE(
                same_bits(run_matmul(level, with_matmul_panels(w, nullptr), x, ldx, n_tokens, ldy, nullptr), y_ref))
                << "with panels";
          }
          continue;
        }
        const std::vector<float> w_f32 = w.to_f32();
        for (int64_t t = 0; t < n_tokens; ++t) {
          for (int64_t r = 0; r < rows; ++r) {
            double sum_abs = 0.0;
            for (int64_t c = 0; c < cols; ++c) sum_abs += std::fabs(w_f32[r * cols + c] * x[t * ldx + c]);
            // Both sides multiply the same, exactly dequantized weights. The reference sums in
            // double: error <= 2^-24 |y| after rounding to f32. A kernel lane FMAs at most
            // ceil(cols / 8) products, each rounding once by <= 2^-24 of a partial sum bounded
            // by sum |w x|, and a lane tree of <= 4 levels adds 4 roundings more. So
            // (cols / 8 + 8) * 2^-24 * sum |w x| bounds the difference.
            const double tol = (cols / 8.0 + 8.0) * 0x1p-24 * sum_abs;
            EXPECT_NEAR(y[t * ldy + r], y_ref[t * ldy + r], tol) << "token " << t << " row " << r;
          }
          for (int64_t r = rows; r < ldy; ++r) EXPECT_TRUE(std::isnan(y[t * ldy + r])) << "padding written";
        }
      }
    }
  }
}

// With one-hot activations each output is a single weight times x plus zeros, rounded once, so
// every kernel must return the reference dequantization times x bit for bit (the in-register
// decoders included). x = 127/128 quantizes exactly to q8_0 (d = 2^-7, q = 127), so the same holds
// for the quantized-activation kernels.
TEST_P(MatmulLevel, OneHotActivationsGiveExactWeights) {
  const auto [dtype, level] = GetParam();
  const int64_t rows = 5, cols = cols_for(dtype, 37, 64);
  const Tensor w = random_weight(dtype, rows, cols, 31);
  const float hot = 127.0f / 128.0f;
  std::vector<float> x(cols * cols, 0.0f);
  for (int64_t c = 0; c < cols; ++c) x[c * cols + c] = hot;
  const std::vector<float> y = run_matmul(level, w, x, cols, cols, rows, nullptr);
  const std::vector<float> w_f32 = w.to_f32();
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r)
      ASSERT_EQ(y[c * rows + r], w_f32[r * cols + c] * hot) << "row " << r << " col " << c;
}

// q8_0 / q4_0 kernels quantize the activations: against the exact product of the dequantized
// weights and the f32 activations, within the bound derived below.
class MatmulQuantizedLevel : public MatmulLevel {};

TEST_P(MatmulQuantizedLevel, WithinBoundOfExactProduct) {
  const auto [dtype, level] = GetParam();
  const int64_t rows = 19, cols = 4096 + 32, n_tokens = 5;
  const Tensor w = random_weight(dtype, rows, cols, 41);
  std::vector<float> x = random_activations(n_tokens, cols, cols, 42);
  // Scale some blocks up and down, and zero one: the activation scale is per block.
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t c = 0; c < cols; ++c)
      x[t * cols + c] *= c / kQBlock % 7 == 0 ? 1e-3f : c / kQBlock % 5 == 0 ? 0.0f : 1.0f + t;
  const std::vector<float> y = run_matmul(level, w, x, cols, n_tokens, rows, nullptr);
  const std::vector<float> w_f32 = w.to_f32();
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double exact = 0.0, sum_abs = 0.0, bound = 0.0;
      for (int64_t b = 0; b < cols / kQBlock; ++b) {
        double amax = 0.0, w_abs = 0.0;
        for (int64_t c = b * kQBlock; c < (b + 1) * kQBlock; ++c) {
          const double wx = static_cast<double>(w_f32[r * cols + c]) * x[t * cols + c];
          exact += wx;
          sum_abs += std::fabs(wx);
          amax = std::fmax(amax, std::fabs(x[t * cols + c]));
          w_abs += std::fabs(w_f32[r * cols + c]);
        }
        // Activation quantization: q = round(x / d) with d = amax / 127, then d is stored in fp16
        // (relative error <= 2^-11), so |x - fp16(d) q| <= d / 2 + 2^-11 * 127 d (+ a few f32
        // ulps of x * (1 / d)) <= 0.57 d; the block's dot product is off by <= 0.57 d sum |w|,
        // about 1/220 of amax * sum |w| at worst.
        bound += 0.57 * amax / 127.0 * w_abs;
      }
      // Float combination: the chain rounds once per block by <= 2^-24 of a partial sum bounded
      // by sum |w x_q| <= (1 + 1/127) sum |w x| + the quantization bound.
      const double tol = bound + (cols / kQBlock) * 0x1p-24 * 1.01 * (sum_abs + bound);
      EXPECT_NEAR(y[t * rows + r], exact, tol) << "token " << t << " row " << r;
    }
  }
}

TEST_P(MatmulLevel, ThreadCountDoesNotChangeBits) {
  const auto [dtype, level] = GetParam();
  const int64_t rows = 100, cols = cols_for(dtype, 33, 96),
                n_tokens = 40;  // > 1 tile each way
  const Tensor w = random_weight(dtype, rows, cols, 11);
  const std::vector<float> x = random_activations(n_tokens, cols, cols, 12);
  const std::vector<float> single = run_matmul(level, w, x, cols, n_tokens, rows, nullptr);
  for (int n_threads : {1, 2, 3}) {
    ThreadPool pool(n_threads);
    EXPECT_TRUE(same_bits(run_matmul(level, w, x, cols, n_tokens, rows, &pool), single)) << n_threads << " threads";
  }
}

// Each token's outputs equal those of the same token in any other batch: alone, and as the first
// token of batches of 2..8 (every micro-kernel width and both the direct and the packed path).
TEST_P(MatmulLevel, BatchDoesNotChangeBits) {
  const auto [dtype, level] = GetParam();
  const int64_t rows = 37, cols = cols_for(dtype, 291, 288), n_tokens = 40;
  const Tensor w = random_weight(dtype, rows, cols, 21);
  const std::vector<float> x = random_activations(n_tokens, cols, cols, 22);
  const std::vector<float> batch = run_matmul(level, w, x, cols, n_tokens, rows, nullptr);
  auto batch_rows = [&](int64_t begin, int64_t count) {
    return std::vector<float>(batch.begin() + begin * rows, batch.begin() + (begin + count) * rows);
  };
  for (int64_t t = 0; t < n_tokens; ++t) {
    const std::vector<float> token(x.begin() + t * cols, x.begin() + (t + 1) * cols);
    EXPECT_TRUE(same_bits(run_matmul(level, w, token, cols, 1, rows, nullptr), batch_rows(t, 1))) << "token " << t;
  }
  for (int64_t count = 2; count <= 8; ++count)
    EXPECT_TRUE(same_bits(run_matmul(level, w, x, cols, count, rows, nullptr), batch_rows(0, count)))
        << count << " tokens";
}

std::vector<LevelCase> all_cases() {
  std::vector<LevelCase> cases;
  for (IsaLevel level : {IsaLevel::kRef, IsaLevel::kAvx2, IsaLevel::kAvx512})
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K,
                        DType::kI8, DType::kF8_E4M3, DType::kQ5_K, DType::kQ3_K, DType::kQ2_K})
      cases.push_back({dtype, level});
  return cases;
}

std::vector<LevelCase> quantized_cases() {
  std::vector<LevelCase> cases;
  for (const LevelCase& c : all_cases())
    if (uses_quantized_activations(c.dtype)) cases.push_back(c);
  return cases;
}

std::string case_name(const testing::TestParamInfo<LevelCase>& info) {
  return std::string(dtype_info(info.param.dtype).name) + "_" + isa_level_name(info.param.level);
}

INSTANTIATE_TEST_SUITE_P(Kernels, MatmulLevel, testing::ValuesIn(all_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Kernels, MatmulQuantizedLevel, testing::ValuesIn(quantized_cases()), case_name);

// y for one token through the reference kernel.
std::vector<float> ref_matmul(const Tensor& w, std::vector<float> x) {
  return run_matmul(IsaLevel::kRef, w, x, w.cols(), 1, w.rows(), nullptr);
}

Tensor from_u16(DType dtype, std::vector<int64_t> shape, const std::vector<uint16_t>& values) {
  std::vector<std::byte> bytes(values.size() * 2);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return Tensor::from_bytes(dtype, std::move(shape), std::move(bytes));
}

TEST(MatmulRef, HandComputedF32) {
  const Tensor w = Tensor::from_f32({2, 3}, {1.0f, 2.0f, 3.0f, -1.0f, 0.5f, 4.0f});
  EXPECT_EQ(ref_matmul(w, {1.0f, -1.0f, 2.0f}), (std::vector<float>{5.0f, 6.5f}));
}

TEST(MatmulRef, HandComputedF16) {
  const Tensor w = from_u16(DType::kF16, {1, 3}, {0x3c00, 0xc000, 0x3800});  // 1, -2, 0.5
  EXPECT_EQ(ref_matmul(w, {3.0f, 1.0f, 4.0f}), (std::vector<float>{3.0f}));
}

TEST(MatmulRef, HandComputedBF16) {
  const Tensor w = from_u16(DType::kBF16, {1, 3}, {0x3f80, 0xc000, 0x3f00});  // 1, -2, 0.5
  EXPECT_EQ(ref_matmul(w, {3.0f, 1.0f, 4.0f}), (std::vector<float>{3.0f}));
}

TEST(MatmulRef, HandComputedQ8_0) {
  BlockQ8_0 block{.d = 0x3800, .qs = {}};  // d = 0.5
  for (int j = 0; j < 32; ++j) block.qs[j] = static_cast<int8_t>(j - 16);
  std::vector<std::byte> bytes(sizeof block);
  std::memcpy(bytes.data(), &block, sizeof block);
  const Tensor w = Tensor::from_bytes(DType::kQ8_0, {1, 32}, std::move(bytes));
  // Activations q / 128 with max |q| = 127 quantize exactly (d = 2^-7, q8 = q): j / 128 for
  // j < 31, 127 / 128 for j = 31.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = (j < 31 ? j : 127) / 128.0f;
  // 0.5 / 128 (sum_{j<31} (j - 16) j + 15 * 127) = 0.5 / 128 (9455 - 7440 + 1905)
  EXPECT_EQ(ref_matmul(w, x), (std::vector<float>{15.3125f}));
}

TEST(MatmulRef, HandComputedQ4_0) {
  BlockQ4_0 block{.d = 0x4000, .qs = {}};  // d = 2
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | (15 << 4));
  std::vector<std::byte> bytes(sizeof block);
  std::memcpy(bytes.data(), &block, sizeof block);
  const Tensor w = Tensor::from_bytes(DType::kQ4_0, {1, 32}, std::move(bytes));
  // 127 / 128 and 64 / 128 quantize exactly (d = 2^-7, q8 = 127 and 64).
  std::vector<float> x(32, 127.0f / 128.0f);
  for (int j = 16; j < 32; ++j) x[j] = 0.5f;
  // low nibbles j: weights 0..15 are 2 (j - 8), summing to -16, times 127 / 128: -15.875; high
  // nibbles 15: weights 16..31 are 2 * 7 = 14, times 0.5, sixteen times: 112.
  EXPECT_EQ(ref_matmul(w, x), (std::vector<float>{96.125f}));
}

// The AVX-512 q8_0 / q4_0 kernels without VNNI (for AVX-512 CPUs that lack it) give the VNNI
// kernels' bits: both compute the same exact integer sums.
TEST(MatmulAvx512, WithoutVnniMatchesVnni) {
  const CpuFeatures& cpu = cpu_features();
  if (missing_feature(IsaLevel::kAvx512, cpu) != nullptr || !cpu.avx512_vnni)
    GTEST_SKIP() << "this CPU lacks AVX-512 VNNI";
  const int64_t rows = 21, cols = 4096 + 32;
  for (DType dtype : {DType::kQ8_0, DType::kQ4_0}) {
    for (int64_t n_tokens : {1, 2, 3, 4, 7, 32}) {
      SCOPED_TRACE(testing::Message() << dtype_info(dtype).name << " tokens " << n_tokens);
      const Tensor w = random_weight(dtype, rows, cols, 51);
      const std::vector<float> x = random_activations(n_tokens, cols, cols, 52);
      const std::vector<float> y_ref = run_matmul(IsaLevel::kRef, w, x, cols, n_tokens, rows, nullptr);
      // The quantized activations as the driver builds them.
      const int64_t n_blocks = cols / kQBlock;
      std::vector<int8_t> xq(n_tokens * cols);
      std::vector<float> xd(n_tokens * n_blocks);
      std::vector<int32_t> bias(n_tokens * n_blocks);
      std::vector<BlockQ8_0> blocks(n_blocks);
      for (int64_t t = 0; t < n_tokens; ++t) {
        quantize_row(DType::kQ8_0, x.data() + t * cols, reinterpret_cast<std::byte*>(blocks.data()), cols);
        for (int64_t b = 0; b < n_blocks; ++b) {
          xd[t * n_blocks + b] = f16_to_f32(blocks[b].d);
          int32_t sum = 0;
          for (int j = 0; j < kQBlock; ++j) {
            xq[t * cols + b * kQBlock + j] = blocks[b].qs[j];
            sum += blocks[b].qs[j];
          }
          bias[t * n_blocks + b] = -quantized_bias_offset(dtype) * sum;
        }
      }
      const auto panels = pack_panels(w, nullptr);
      for (MatmulBlockFn kernel : dtype == DType::kQ8_0
                                      ? std::vector<MatmulBlockFn>{matmul_q8_0_avx512, matmul_q8_0_avx512vnni}
                                      : std::vector<MatmulBlockFn>{matmul_q4_0_avx512, matmul_q4_0_avx512vnni}) {
        std::vector<float> y(n_tokens * rows, kNaN);
        kernel(MatmulBlock{.dtype = dtype,
                           .w = w.row(0),
                           .w_stride = w.row_bytes(),
                           .n_rows = rows,
                           .cols = cols,
                           .x = x.data(),
                           .ldx = cols,
                           .y = y.data(),
                           .ldy = rows,
                           .n_tokens = n_tokens,
                           .xq = xq.data(),
                           .xq_d = xd.data(),
                           .xq_bias = bias.data(),
                           .panels = panels->data(),
                           .panel_stride = panel_bytes(dtype, cols)});
        EXPECT_TRUE(same_bits(y, y_ref));
      }
    }
  }
}

// The AVX2 activation quantizer writes quantize_row(kQ8_0)'s codes and the scale and bias the
// kernels read, on random blocks and on blocks of ties (k + 0.5 steps), zeros, NaN, inf,
// subnormals and mixed signs; the codes are compared with quantize_row's bytes directly.
TEST(QuantizeActivations, Avx2MatchesQuantizeRow) {
  if (missing_feature(IsaLevel::kAvx2, cpu_features()) != nullptr) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  constexpr int64_t kBlocks = 64, kCols = kBlocks * kQBlock;
  std::vector<float> x(kCols);
  for (float& v : x) v = dist(rng);
  for (int j = 0; j < 32; ++j) x[1 * 32 + j] = (j - 16) * 127.0f / 32.0f + 0.5f / 32.0f;  // k + 0.5 codes
  for (int j = 0; j < 32; ++j) x[2 * 32 + j] = 0.0f;
  x[3 * 32 + 5] = kNaN;
  x[4 * 32 + 7] = std::numeric_limits<float>::infinity();
  x[5 * 32] = -std::numeric_limits<float>::infinity();
  for (int j = 0; j < 32; ++j) x[6 * 32 + j] = std::ldexp(static_cast<float>(j - 16), -140);  // subnormal
  for (int j = 0; j < 32; ++j) x[7 * 32 + j] = j % 2 ? -1e30f : 1e30f;
  for (int j = 0; j < 32; ++j) x[8 * 32 + j] = kNaN;
  for (int32_t offset : {8, 128}) {
    std::vector<int8_t> q(kCols), q_ref(kCols);
    std::vector<float> d(kBlocks), d_ref(kBlocks);
    std::vector<int32_t> bias(kBlocks), bias_ref(kBlocks);
    quantize_activations_avx2(x.data(), kCols, offset, q.data(), d.data(), bias.data());
    quantize_activations_ref(x.data(), kCols, offset, q_ref.data(), d_ref.data(), bias_ref.data());
    std::vector<BlockQ8_0> blocks(kBlocks);
    quantize_row(DType::kQ8_0, x.data(), reinterpret_cast<std::byte*>(blocks.data()), kCols);
    for (int64_t b = 0; b < kBlocks; ++b) {
      EXPECT_EQ(std::memcmp(q.data() + b * kQBlock, blocks[b].qs, kQBlock), 0) << "block " << b;
      EXPECT_EQ(std::memcmp(q_ref.data() + b * kQBlock, blocks[b].qs, kQBlock), 0) << "block " << b;
      EXPECT_EQ(std::memcmp(&d[b], &d_ref[b], 4), 0) << "block " << b << ": " << d[b] << " vs " << d_ref[b];
      EXPECT_EQ(bias[b], bias_ref[b]) << "block " << b;
    }
  }
}

TEST(Matmul, KernelNameIsDtypeAndLevel) {
  EXPECT_EQ(matmul_kernel_name(DType::kQ8_0), "q8_0/" + isa_name());
  EXPECT_EQ(matmul_kernel_name(DType::kBF16), "bf16/" + isa_name());
}

TEST(Matmul, ZeroTokensWritesNothing) {
  const Tensor w = random_weight(DType::kF32, 4, 8, 1);
  float y = kNaN;
  matmul(w, {.x = nullptr, .ldx = 8, .y = &y, .ldy = 4, .n_tokens = 0}, nullptr);
  EXPECT_TRUE(std::isnan(y));
}

TEST(Matmul, RejectsBadArguments) {
  const Tensor w = random_weight(DType::kF32, 4, 8, 1);
  std::vector<float> x(16), y(16);
  auto message = [&](const Tensor& weight, MatmulArgs args) {
    try {
      matmul(weight, args, nullptr);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(Tensor::from_f32({2, 2, 2}, std::vector<float>(8)),
                    {.x = x.data(), .ldx = 2, .y = y.data(), .ldy = 4, .n_tokens = 1}),
            "matmul: weight must be 2-D, got [2, 2, 2]");
  EXPECT_EQ(message(w, {.x = x.data(), .ldx = 8, .y = y.data(), .ldy = 4, .n_tokens = -1}),
            "matmul: n_tokens = -1 < 0");
  EXPECT_EQ(message(w, {.x = nullptr, .ldx = 8, .y = y.data(), .ldy = 4, .n_tokens = 1}), "matmul: null x or y");
  EXPECT_EQ(message(w, {.x = x.data(), .ldx = 7, .y = y.data(), .ldy = 4, .n_tokens = 1}),
            "matmul: ldx = 7 < cols = 8");
  EXPECT_EQ(message(w, {.x = x.data(), .ldx = 8, .y = y.data(), .ldy = 3, .n_tokens = 1}),
            "matmul: ldy = 3 < rows = 4");
}

}  // namespace
}  // namespace moe::kernels
