// Causal scaled-dot-product attention of new query tokens over a KV cache, with GQA.
// Shapes: q [n_tokens, n_heads * head_dim]; cache k/v [capacity, n_kv_heads * head_dim];
// out [n_tokens, n_heads * head_dim]. Query token t sits at position first_position + t and sees
// cache rows [0, first_position + t].
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace moe::kernels {

struct AttentionArgs {
  const float* q;
  const float* k_cache;
  const float* v_cache;
  float* out;
  int64_t n_tokens;
  int64_t first_position;
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t head_dim;
};

void attention(const AttentionArgs& args, ThreadPool* pool);

}  // namespace moe::kernels
