// kernels::attention: the reference level against a double-precision softmax attention; every
// level this CPU has gives the reference's bits on f32/f16/int8/fp8 caches; a token's bits do not
// depend on the other tokens of the call (prefill == one token at a time) or on the threads; a
// paged cache read through a shuffled block table gives the contiguous cache's bits.
#include "kernels/attention/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/random.h"

namespace moe::kernels {
namespace {

struct Shape {
  int64_t head_dim, n_heads, n_kv_heads, n_tokens, first_position;
};

// head_dim 64 and 128 (the engine's), 40 and 6 (padded to 16 lanes); GQA 2:1 and 1:1; one to 70
// tokens after 0 or 100 cached positions (so blocks are partly seen, and more than one is).
std::vector<Shape> shapes() {
  std::vector<Shape> out;
  for (int64_t head_dim : {64, 128, 40, 6})
    for (auto [n_heads, n_kv] : {std::pair<int64_t, int64_t>{4, 2}, {2, 2}})
      for (int64_t n_tokens : {1, 3, 17, 70})
        for (int64_t first : {0, 100}) out.push_back({head_dim, n_heads, n_kv, n_tokens, first});
  return out;
}

std::string name(const Shape& s) {
  return detail::concat("head_dim ", s.head_dim, ", ", s.n_heads, ":", s.n_kv_heads, " heads, ", s.n_tokens,
                        " tokens after ", s.first_position);
}

std::vector<float> uniform(int64_t n, uint64_t seed, float scale) {
  Rng rng(seed);
  std::vector<float> values(n);
  for (float& v : values) v = static_cast<float>(scale * (2.0 * rng.uniform() - 1.0));
  return values;
}

// Queries, keys and values of a shape; the cache holds every position the call sees.
struct Problem {
  Shape shape;
  KvDtype dtype;
  std::vector<float> q, k, v;       // k, v decoded back from the cache, for the double reference
  std::vector<float> k_src, v_src;  // k, v as stored
  std::vector<std::byte> k_cache, v_cache;

  Problem(const Shape& s, KvDtype kv_dtype, uint64_t seed) : shape(s), dtype(kv_dtype) {
    const int64_t n_pos = s.first_position + s.n_tokens, n_vectors = n_pos * s.n_kv_heads;
    const int64_t head_bytes = kv_head_bytes(dtype, s.head_dim);
    q = uniform(s.n_tokens * s.n_heads * s.head_dim, seed, 2.0f);  // scores up to a few units
    const std::vector<float> k_in = uniform(n_vectors * s.head_dim, seed + 1, 2.0f);
    const std::vector<float> v_in = uniform(n_vectors * s.head_dim, seed + 2, 1.0f);
    const int64_t n_blocks = (n_pos + kAttentionBlock - 1) / kAttentionBlock;
    k_cache.resize(n_blocks * kAttentionBlock * s.n_kv_heads * head_bytes);
    v_cache.resize(k_cache.size());
    store(k_in, v_in, k_cache, v_cache, [](int64_t pos) { return pos / kAttentionBlock; });
    k.resize(k_in.size());
    v.resize(v_in.size());
    std::vector<std::byte> code(head_bytes);
    for (int64_t i = 0; i < n_vectors; ++i) {
      kv_encode(dtype, k_in.data() + i * s.head_dim, code.data(), s.head_dim);
      kv_decode(dtype, code.data(), k.data() + i * s.head_dim, s.head_dim);
      kv_encode(dtype, v_in.data() + i * s.head_dim, code.data(), s.head_dim);
      kv_decode(dtype, code.data(), v.data() + i * s.head_dim, s.head_dim);
    }
    k_src = k_in;
    v_src = v_in;
  }

  // Writes every position into k_pool / v_pool with store_kv, position p in the 64-position block
  // block_of(p).
  template <class BlockOf>
  void store(const std::vector<float>& k_in, const std::vector<float>& v_in, std::vector<std::byte>& k_pool,
             std::vector<std::byte>& v_pool, BlockOf block_of) const {
    const Shape& s = shape;
    const int64_t row = s.n_kv_heads * s.head_dim;
    const int64_t block_bytes = kAttentionBlock * s.n_kv_heads * kv_head_bytes(dtype, s.head_dim);
    for (int64_t pos = 0; pos < s.first_position + s.n_tokens; ++pos)
      store_kv(dtype, k_in.data() + pos * row, v_in.data() + pos * row, s.n_kv_heads, s.head_dim,
               k_pool.data() + block_of(pos) * block_bytes, v_pool.data() + block_of(pos) * block_bytes,
               pos % kAttentionBlock);
  }

  // Tokens [begin, end) in one call.
  void run(IsaLevel level, int64_t begin, int64_t end, float* out, ThreadPool* pool) const {
    const int64_t width = shape.n_heads * shape.head_dim;
    attention_with_level(level,
                         {q.data() + begin * width, k_cache.data(), v_cache.data(), dtype, out + begin * width,
                          end - begin, shape.first_position + begin, shape.n_heads, shape.n_kv_heads, shape.head_dim,
                          1.0f / std::sqrt(static_cast<float>(shape.head_dim))},
                         pool);
  }

  // The same positions in a paged cache: blocks of block_positions positions in a shuffled order
  // among spare blocks filled with NaN bytes (read one and the outputs change), all tokens at once.
  std::vector<float> paged(IsaLevel level, int64_t block_positions, uint64_t seed) const {
    const Shape& s = shape;
    const int64_t position_bytes = s.n_kv_heads * kv_head_bytes(dtype, s.head_dim);
    const int64_t n_pos = s.first_position + s.n_tokens;
    const int64_t n_used = (n_pos + block_positions - 1) / block_positions, n_blocks = n_used + 3;
    std::vector<int32_t> order(n_blocks);
    for (int64_t i = 0; i < n_blocks; ++i) order[i] = static_cast<int32_t>(i);
    Rng rng(seed);
    for (int64_t i = n_blocks - 1; i > 0; --i) std::swap(order[i], order[rng.next_u64() % (i + 1)]);
    const std::vector<int32_t> table(order.begin(), order.begin() + n_used);
    std::vector<std::byte> k_pool(n_blocks * block_positions * position_bytes, std::byte{0xff}), v_pool = k_pool;
    const int64_t per_block = block_positions / kAttentionBlock;  // 64-position blocks per cache block
    store(k_src, v_src, k_pool, v_pool, [&](int64_t pos) {
      return table[pos / block_positions] * per_block + pos % block_positions / kAttentionBlock;
    });
    std::vector<float> out(q.size());
    AttentionArgs args{q.data(),
                       k_pool.data(),
                       v_pool.data(),
                       dtype,
                       out.data(),
                       s.n_tokens,
                       s.first_position,
                       s.n_heads,
                       s.n_kv_heads,
                       s.head_dim,
                       1.0f / std::sqrt(static_cast<float>(s.head_dim))};
    args.block_table = table.data();
    args.block_positions = block_positions;
    attention_with_level(level, args, nullptr);
    return out;
  }

  std::vector<float> all_at_once(IsaLevel level, ThreadPool* pool) const {
    std::vector<float> out(q.size());
    run(level, 0, shape.n_tokens, out.data(), pool);
    return out;
  }

  std::vector<double> exact() const {
    const Shape& s = shape;
    std::vector<double> out(q.size());
    for (int64_t t = 0; t < s.n_tokens; ++t)
      for (int64_t h = 0; h < s.n_heads; ++h) {
        const int64_t kv_head = h / (s.n_heads / s.n_kv_heads), n_keys = s.first_position + t + 1;
        const float* qv = q.data() + (t * s.n_heads + h) * s.head_dim;
        std::vector<double> scores(n_keys);
        double max = -INFINITY, sum = 0;
        for (int64_t j = 0; j < n_keys; ++j) {
          const float* kv = k.data() + (j * s.n_kv_heads + kv_head) * s.head_dim;
          double dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += static_cast<double>(qv[d]) * kv[d];
          scores[j] = dot / std::sqrt(static_cast<double>(s.head_dim));
          max = std::max(max, scores[j]);
        }
        for (double& score : scores) sum += score = std::exp(score - max);
        double* o = out.data() + (t * s.n_heads + h) * s.head_dim;
        for (int64_t j = 0; j < n_keys; ++j)
          for (int64_t d = 0; d < s.head_dim; ++d)
            o[d] += scores[j] / sum * v[(j * s.n_kv_heads + kv_head) * s.head_dim + d];
      }
    return out;
  }
};

std::vector<IsaLevel> levels_here() {
  std::vector<IsaLevel> out;
  for (IsaLevel level : {IsaLevel::kRef, IsaLevel::kAvx2, IsaLevel::kAvx512})
    if (missing_feature(level, cpu_features()) == nullptr) out.push_back(level);
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Attention, ReferenceMatchesDoublePrecision) {
  uint64_t seed = 10;
  for (const Shape& shape : shapes()) {
    const Problem problem(shape, KvDtype::kF32, seed += 3);
    const std::vector<float> got = problem.all_at_once(IsaLevel::kRef, nullptr);
    const std::vector<double> want = problem.exact();
    // Outputs are convex mixes of values in [-1, 1]. fp32 scores (|s| <= ~4 sqrt(head_dim)) carry
    // a few 1e-7 of rounding, exp_approx ~2 ulp, and each fma/sum step one rounding: a few 1e-7 in
    // all; 1e-5 leaves room without hiding a wrong block, mask or rescale (those move outputs by 1e-2).
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << name(shape) << ", element " << i;
  }
}

TEST(Attention, EveryLevelGivesTheReferenceBits) {
  uint64_t seed = 200;
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16, KvDtype::kInt8, KvDtype::kFp8})
    for (const Shape& shape : shapes()) {
      const Problem problem(shape, dtype, seed += 3);
      const std::vector<float> want = problem.all_at_once(IsaLevel::kRef, nullptr);
      for (IsaLevel level : levels_here())
        EXPECT_TRUE(same_bits(problem.all_at_once(level, nullptr), want))
            << isa_level_name(level) << ", " << kv_dtype_name(dtype) << ", " << name(shape);
    }
}

TEST(Attention, PrefillGivesTheBitsOfOneTokenAtATime) {
  uint64_t seed = 400;
  for (const Shape& shape : shapes()) {
    if (shape.n_tokens == 1) continue;
    const Problem problem(shape, KvDtype::kF32, seed += 3);
    for (IsaLevel level : levels_here()) {
      std::vector<float> one_by_one(problem.q.size());
      for (int64_t t = 0; t < shape.n_tokens; ++t) problem.run(level, t, t + 1, one_by_one.data(), nullptr);
      // Uneven splits too: the first 5 tokens, then the rest.
      std::vector<float> split(problem.q.size());
      const int64_t cut = std::min<int64_t>(5, shape.n_tokens);
      problem.run(level, 0, cut, split.data(), nullptr);
      problem.run(level, cut, shape.n_tokens, split.data(), nullptr);
      const std::vector<float> whole = problem.all_at_once(level, nullptr);
      EXPECT_TRUE(same_bits(whole, one_by_one)) << isa_level_name(level) << ", " << name(shape);
      EXPECT_TRUE(same_bits(whole, split)) << isa_level_name(level) << ", " << name(shape);
    }
  }
}

TEST(Attention, ThreadCountDoesNotChangeTheBits) {
  ThreadPool one(1), two(2);
  uint64_t seed = 600;
  for (const Shape& shape : shapes()) {
    const Problem problem(shape, KvDtype::kF16, seed += 3);
    for (IsaLevel level : levels_here()) {
      const std::vector<float> serial = problem.all_at_once(level, nullptr);
      EXPECT_TRUE(same_bits(problem.all_at_once(level, &one), serial)) << isa_level_name(level) << ", " << name(shape);
      EXPECT_TRUE(same_bits(problem.all_at_once(level, &two), serial)) << isa_level_name(level) << ", " << name(shape);
    }
  }
}

TEST(Attention, ShuffledBlockTableGivesTheContiguousBits) {
  uint64_t seed = 800;
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16, KvDtype::kInt8, KvDtype::kFp8})
    for (const Shape& shape : shapes()) {
      const Problem problem(shape, dtype, seed += 3);
      const std::vector<float> want = problem.all_at_once(IsaLevel::kRef, nullptr);
      const int64_t block_positions = seed % 2 == 0 ? 64 : 128;  // blocks of one and two key blocks
      for (IsaLevel level : levels_here())
        EXPECT_TRUE(same_bits(problem.paged(level, block_positions, seed), want))
            << isa_level_name(level) << ", " << kv_dtype_name(dtype) << ", blocks of " << block_positions << ", "
            << name(shape);
    }
}

// A cache read as keys and values (MLA's latent, stored once, in rows) gives the bits of a cache
// holding the same vectors as its keys and as its values, for every KV dtype and on every level.
TEST(Attention, ValuesAreKeysGivesTheBitsOfSeparateValues) {
  const int64_t n_heads = 4, n_kv = 1, head_dim = 40, n_pos = 100, n_tokens = 3;
  const std::vector<float> q = uniform(n_tokens * n_heads * head_dim, 11, 2.0f);
  const std::vector<float> kv = uniform(n_pos * n_kv * head_dim, 12, 2.0f);
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16, KvDtype::kInt8}) {
    const int64_t block_bytes = kAttentionBlock * n_kv * kv_head_bytes(dtype, head_dim);
    std::vector<std::byte> latent(2 * block_bytes), k_cache(2 * block_bytes), v_cache(2 * block_bytes);
    for (int64_t pos = 0; pos < n_pos; ++pos) {
      const float* row = kv.data() + pos * n_kv * head_dim;
      const int64_t at = pos / kAttentionBlock * block_bytes, slot = pos % kAttentionBlock;
      store_kv(dtype, row, nullptr, n_kv, head_dim, latent.data() + at, nullptr, slot);
      store_kv(dtype, row, row, n_kv, head_dim, k_cache.data() + at, v_cache.data() + at, slot);
    }
    for (IsaLevel level : {IsaLevel::kRef, IsaLevel::kAvx2, IsaLevel::kAvx512}) {
      if (missing_feature(level, cpu_features()) != nullptr) continue;
      std::vector<float> once(q.size()), separate(q.size());
      AttentionArgs args{q.data(),         latent.data(), latent.data(), dtype,    once.data(), n_tokens,
                         n_pos - n_tokens, n_heads,       n_kv,          head_dim, 0.2f};
      args.values_are_keys = true;
      attention_with_level(level, args, nullptr);
      attention_with_level(level,
                           {q.data(), k_cache.data(), v_cache.data(), dtype, separate.data(), n_tokens,
                            n_pos - n_tokens, n_heads, n_kv, head_dim, 0.2f},
                           nullptr);
      EXPECT_EQ(std::memcmp(once.data(), separate.data(), once.size() * sizeof(float)), 0)
          << isa_level_name(level) << ", " << kv_dtype_name(dtype);
    }
  }
}

TEST(Attention, BlockNotAMultipleOfTheKeyBlockIsAnError) {
  std::vector<float> q(8), out(8);
  const std::vector<std::byte> cache(64 * 8 * 4);
  const int32_t table[] = {0};
  AttentionArgs args{q.data(), cache.data(), cache.data(), KvDtype::kF32, out.data(), 1, 0, 1, 1, 8, 0.35f};
  args.block_table = table;
  args.block_positions = 32;
  try {
    attention(args, nullptr);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "attention: block_positions = 32 is not a positive multiple of 64");
  }
}

TEST(Attention, HeadsNotAMultipleOfKvHeadsIsAnError) {
  std::vector<float> q(3 * 8), out(3 * 8);
  const std::vector<std::byte> cache(2 * 8 * 4);
  try {
    attention({q.data(), cache.data(), cache.data(), KvDtype::kF32, out.data(), 1, 0, 3, 2, 8, 0.35f}, nullptr);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "attention: n_heads = 3 is not a positive multiple of n_kv_heads = 2");
  }
}

TEST(Attention, ScaleNotPositiveIsAnError) {
  std::vector<float> q(8), out(8);
  const std::vector<std::byte> cache(8 * 4);
  EXPECT_THROW(
      attention({q.data(), cache.data(), cache.data(), KvDtype::kF32, out.data(), 1, 0, 1, 1, 8, 0.0f}, nullptr),
      ConfigError);
}

TEST(Attention, NegativePositionIsAnError) {
  std::vector<float> q(8), out(8);
  const std::vector<std::byte> cache(8 * 4);
  EXPECT_THROW(
      attention({q.data(), cache.data(), cache.data(), KvDtype::kF32, out.data(), 1, -1, 1, 1, 8, 0.35f}, nullptr),
      ConfigError);
}

}  // namespace
}  // namespace moe::kernels
