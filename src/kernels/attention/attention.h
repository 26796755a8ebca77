// Causal scaled-dot-product attention of new query tokens over a KV cache, with GQA.
// Shapes: q [n_tokens, n_heads * head_dim]; cache k/v [capacity][n_kv_heads] head vectors of
// kv_head_bytes(kv_dtype, head_dim) bytes; out [n_tokens, n_heads * head_dim]. Query token t sits
// at position first_position + t and sees cache positions [0, first_position + t].
// A token's output bits depend only on its own query and the cache, never on n_tokens or the
// threads, and are the same on every ISA level (attention_kernels.h gives the algorithm).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/cpu_features.h"
#include "kernels/kv_codec.h"

namespace moe::kernels {

struct AttentionArgs {
  const float* q;
  const std::byte* k_cache;
  const std::byte* v_cache;
  KvDtype kv_dtype;
  float* out;
  int64_t n_tokens;
  int64_t first_position;
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t head_dim;
  float scale;  // multiplies q.k (usually 1 / sqrt(head_dim))
};

void attention(const AttentionArgs& args, ThreadPool* pool);
// On the kernels of `level` (tests); throws UsageError if this CPU lacks it.
void attention_with_level(IsaLevel level, const AttentionArgs& args, ThreadPool* pool);

}  // namespace moe::kernels
