// KV cache codecs and attention over f16/int8/fp8 caches against the f32 cache.
#include "kernels/kv_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/random.h"
#include "kernels/attention/attention.h"

namespace moe::kernels {
namespace {

std::vector<float> random_values(int64_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<float> values(n);
  for (float& v : values) v = static_cast<float>(scale * rng.normal());
  return values;
}

TEST(KvCodec, RoundTripsWithinTheFormatsBound) {
  const int64_t head_dim = 64;
  const std::vector<float> x = random_values(head_dim, 1, 3.0);
  float amax = 0;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16, KvDtype::kInt8, KvDtype::kFp8}) {
    std::vector<std::byte> bytes(kv_head_bytes(dtype, head_dim));
    std::vector<float> back(head_dim);
    kv_encode(dtype, x.data(), bytes.data(), head_dim);
    kv_decode(dtype, bytes.data(), back.data(), head_dim);
    for (int64_t i = 0; i < head_dim; ++i) {
      // f32 exact; f16 relative 2^-11 (round to nearest); int8 half a step of amax/127; fp8
      // (3 mantissa bits) relative 2^-4, or half the subnormal step 2^-9 of the scale amax/448.
      const double fp8_bound = std::max(std::fabs(x[i]) * 0x1p-4, amax / 448.0 * 0x1p-10) * 1.0001;
      const double bound = dtype == KvDtype::kF32   ? 0.0
                           : dtype == KvDtype::kF16 ? std::fabs(x[i]) * 0x1p-11
                           : dtype == KvDtype::kFp8 ? fp8_bound
                                                    : amax / 127.0 * 0.5 * 1.0001;
      EXPECT_LE(std::fabs(back[i] - x[i]), bound) << kv_dtype_name(dtype) << " " << i;
    }
  }
  EXPECT_EQ(kv_head_bytes(KvDtype::kInt8, 64), 68);
  EXPECT_EQ(kv_head_bytes(KvDtype::kF16, 64), 128);
  EXPECT_EQ(kv_head_bytes(KvDtype::kFp8, 64), 68);
}

// The largest magnitude maps to 448 exactly (code 0x7e) and decodes back to itself.
TEST(KvCodec, Fp8ScalesTheLargestValueTo448) {
  const std::vector<float> x = {0.5f, -3.0f, 1.25f, 0.0f};
  std::vector<std::byte> bytes(kv_head_bytes(KvDtype::kFp8, 4));
  std::vector<float> back(4);
  kv_encode(KvDtype::kFp8, x.data(), bytes.data(), 4);
  float scale;
  std::memcpy(&scale, bytes.data(), 4);
  EXPECT_EQ(scale, 3.0f / 448.0f);
  EXPECT_EQ(bytes[4 + 1], std::byte{0xfe});
  kv_decode(KvDtype::kFp8, bytes.data(), back.data(), 4);
  EXPECT_EQ(back[1], -3.0f);
  EXPECT_EQ(back[3], 0.0f);
  EXPECT_NEAR(back[0], 0.5f, 0.5f * 0x1p-4);
}

TEST(KvCodec, ZeroVectorStaysZeroInInt8) {
  const std::vector<float> zeros(32, 0.0f);
  std::vector<std::byte> bytes(kv_head_bytes(KvDtype::kInt8, 32));
  std::vector<float> back(32, 1.0f);
  kv_encode(KvDtype::kInt8, zeros.data(), bytes.data(), 32);
  kv_decode(KvDtype::kInt8, bytes.data(), back.data(), 32);
  EXPECT_EQ(back, zeros);
}

TEST(KvCodec, UnknownNameNamesTheOption) {
  EXPECT_EQ(kv_dtype_from_name("int8", "--kv-dtype"), KvDtype::kInt8);
  EXPECT_EQ(kv_dtype_from_name("fp8", "--kv-dtype"), KvDtype::kFp8);
  try {
    kv_dtype_from_name("fp4", "--kv-dtype");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--kv-dtype: unknown KV cache dtype 'fp4' (expected f32, f16, int8 or fp8)");
  }
}

// Attention over a 70-position cache (two key blocks), 4 query heads on 2 KV heads.
TEST(KvCodec, AttentionOverCompressedCachesStaysClose) {
  const int64_t n_heads = 4, n_kv = 2, head_dim = 32, n_pos = 70, n_tokens = 3;
  const std::vector<float> q = random_values(n_tokens * n_heads * head_dim, 2);
  const std::vector<float> k = random_values(n_pos * n_kv * head_dim, 3), v = random_values(n_pos * n_kv * head_dim, 4);
  auto run = [&](KvDtype dtype) {
    const int64_t block_bytes = kAttentionBlock * n_kv * kv_head_bytes(dtype, head_dim);
    std::vector<std::byte> kc(2 * block_bytes), vc(2 * block_bytes);
    for (int64_t pos = 0; pos < n_pos; ++pos)
      store_kv(dtype, k.data() + pos * n_kv * head_dim, v.data() + pos * n_kv * head_dim, n_kv, head_dim,
               kc.data() + pos / kAttentionBlock * block_bytes, vc.data() + pos / kAttentionBlock * block_bytes,
               pos % kAttentionBlock);
    std::vector<float> out(n_tokens * n_heads * head_dim);
    attention({q.data(), kc.data(), vc.data(), dtype, out.data(), n_tokens, n_pos - n_tokens, n_heads, n_kv, head_dim,
               1.0f / std::sqrt(static_cast<float>(head_dim))},
              nullptr);
    return out;
  };
  const std::vector<float> exact = run(KvDtype::kF32);
  for (const auto& [dtype, tolerance] :
       {std::pair{KvDtype::kF16, 2e-3}, std::pair{KvDtype::kInt8, 3e-2}, std::pair{KvDtype::kFp8, 6e-2}}) {
    const std::vector<float> approx = run(dtype);
    for (size_t i = 0; i < exact.size(); ++i)
      // Outputs are convex mixes of values with |v| ~ 1: f16 keys/values move them by ~1e-3,
      // int8 (steps of amax/127 ~ 2.5/127) by ~1e-2, fp8 (relative steps of 2^-4) by a few 1e-2.
      EXPECT_NEAR(approx[i], exact[i], tolerance) << kv_dtype_name(dtype) << " " << i;
  }
}

}  // namespace
}  // namespace moe::kernels
