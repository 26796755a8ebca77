// Token permutation, shared by inference dispatch and the training MoE layer: each token's kept
// (token, j) pairs become rows grouped by expert (contiguous per expert, token order inside), and
// the experts' output rows are combined back as a weighted sum in j order, so the same input gives
// the same bits. A dropped pair (expert -1: training's capacity) gets no row and adds nothing.
// Forward and backward side by side. Shapes: T tokens, k = top_k, E experts (or slots),
// R rows (kept pairs), H hidden.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"

namespace moe {

struct Permutation {
  int64_t n_tokens = 0, top_k = 0;
  std::vector<int64_t> offsets;      // [E + 1]: rows of expert e are [offsets[e], offsets[e+1])
  std::vector<int64_t> row_of_pair;  // [T][k] -> row, -1 for a dropped pair
  int64_t n_rows() const { return offsets.empty() ? 0 : offsets.back(); }
};

// experts: [T][k] ids in [0, E), or -1 where the pair was dropped. A counting sort, stable in token
// order; fills perm in place, reusing its buffers (decode plans once per layer and token).
void plan_permutation(std::span<const int32_t> experts, int64_t n_tokens, int64_t top_k, int64_t n_experts,
                      Permutation& perm);

// The forwards run over ranges of tokens side by side on `pool` (may be null): the same bits.
// rows [R][H]: the row of pair (t, j) = x[t].
void permute_forward(float* rows, const float* x, const Permutation& perm, int64_t H, ThreadPool* pool);
// dx [T][H] += the rows' gradients, added per token in k order.
void permute_backward(float* dx, const float* d_rows, const Permutation& perm, int64_t H);

// out [T][H] = sum_j weights[t][j] * expert_out[row of (t, j)], in j order; overwritten.
void combine_forward(float* out, const float* expert_out, std::span<const float> weights, const Permutation& perm,
                     int64_t H, ThreadPool* pool);
// d_expert_out [R][H] = weight * dout[token] (overwritten); d_weights [T][k] = dout[t] . expert_out
// of the pair (0 for dropped pairs, overwritten).
void combine_backward(float* d_expert_out, std::span<float> d_weights, const float* dout, const float* expert_out,
                      std::span<const float> weights, const Permutation& perm, int64_t H);

}  // namespace moe
