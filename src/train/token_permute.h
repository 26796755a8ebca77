// The single-process dispatch of training: permute each token's kept (token, expert) pairs into
// rows grouped by expert (contiguous per expert, token order inside), and combine the experts'
// output rows back as a weighted sum in k order; with both backwards. A later all-to-all
// dispatcher replaces the permutation for expert parallelism. Shapes: T tokens, k = topk,
// E experts, R kept pairs (rows), H hidden.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moe::train {

struct Permutation {
  int64_t n_tokens = 0, top_k = 0;
  std::vector<int64_t> offsets;       // [E + 1]: rows of expert e are [offsets[e], offsets[e+1])
  std::vector<int64_t> row_of_pair;   // [T][k] -> row, -1 for a dropped pair
  std::vector<int64_t> token_of_row;  // [R]
  int64_t n_rows() const { return offsets.back(); }
};

// experts: [T][k] expert ids, -1 where the pair was dropped.
Permutation plan_permutation(std::span<const int32_t> experts, int64_t n_tokens, int64_t top_k,
                             int64_t n_experts);
// rows [R][H] = x[token_of_row[r]].
void permute_forward(float* rows, const float* x, const Permutation& perm, int64_t H);
// dx [T][H] += the rows' gradients, added per token in k order.
void permute_backward(float* dx, const float* d_rows, const Permutation& perm, int64_t H);
// out [T][H] = sum_j weights[t][j] * expert_out[row of (t, j)], in j order; dropped pairs add
// nothing. Overwrites out.
void combine_forward(float* out, const float* expert_out, std::span<const float> weights,
                     const Permutation& perm, int64_t H);
// d_expert_out [R][H] = weight * dout[token] (overwritten); d_weights [T][k] = dout[t] . expert_out
// of the pair (0 for dropped pairs, overwritten).
void combine_backward(float* d_expert_out, std::span<float> d_weights, const float* dout,
                      const float* expert_out, std::span<const float> weights,
                      const Permutation& perm, int64_t H);

}  // namespace moe::train
