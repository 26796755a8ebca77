// Attention with an online (streaming) softmax over key blocks: no [tokens x positions] score
// matrix is materialised, each (token, head) task uses a fixed-size scratch tile.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace moe::kernels {

namespace {

constexpr int64_t kKeyBlock = 64;

// The head vector of (position, kv_head): a pointer into an f32 cache, else decoded into `buffer`.
const float* kv_vector(const AttentionArgs& a, const std::byte* cache, int64_t position, int64_t kv_head,
                       float* buffer) {
  const int64_t head_bytes = kv_head_bytes(a.kv_dtype, a.head_dim);
  const std::byte* src = cache + (position * a.n_kv_heads + kv_head) * head_bytes;
  if (a.kv_dtype == KvDtype::kF32) return reinterpret_cast<const float*>(src);
  kv_decode(a.kv_dtype, src, buffer, a.head_dim);
  return buffer;
}

void attend_one(const AttentionArgs& a, int64_t token, int64_t head) {
  const int64_t kv_head = head / (a.n_heads / a.n_kv_heads);
  const float* q = a.q + token * a.n_heads * a.head_dim + head * a.head_dim;
  float* out = a.out + token * a.n_heads * a.head_dim + head * a.head_dim;
  const int64_t n_keys = a.first_position + token + 1;
  const float scale = 1.0f / std::sqrt(static_cast<float>(a.head_dim));

  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0.0f;
  std::vector<float> acc(a.head_dim, 0.0f), decoded(a.head_dim);
  float scores[kKeyBlock];
  for (int64_t block = 0; block < n_keys; block += kKeyBlock) {
    const int64_t n = std::min(kKeyBlock, n_keys - block);
    float block_max = running_max;
    for (int64_t j = 0; j < n; ++j) {
      const float* k = kv_vector(a, a.k_cache, block + j, kv_head, decoded.data());
      float dot = 0.0f;
      for (int64_t d = 0; d < a.head_dim; ++d) dot += q[d] * k[d];
      scores[j] = dot * scale;
      block_max = std::max(block_max, scores[j]);
    }
    const float rescale = std::exp(running_max - block_max);
    running_sum *= rescale;
    for (int64_t d = 0; d < a.head_dim; ++d) acc[d] *= rescale;
    for (int64_t j = 0; j < n; ++j) {
      const float p = std::exp(scores[j] - block_max);
      running_sum += p;
      const float* v = kv_vector(a, a.v_cache, block + j, kv_head, decoded.data());
      for (int64_t d = 0; d < a.head_dim; ++d) acc[d] += p * v[d];
    }
    running_max = block_max;
  }
  const float inv = 1.0f / running_sum;
  for (int64_t d = 0; d < a.head_dim; ++d) out[d] = acc[d] * inv;
}

}  // namespace

void attention(const AttentionArgs& args, ThreadPool* pool) {
  const int64_t n_tasks = args.n_tokens * args.n_heads;
  auto task = [&](int64_t index) { attend_one(args, index / args.n_heads, index % args.n_heads); };
  if (pool != nullptr)
    pool->parallel_for(n_tasks, task);
  else
    for (int64_t i = 0; i < n_tasks; ++i) task(i);
}

}  // namespace moe::kernels
