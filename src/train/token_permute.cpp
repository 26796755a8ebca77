// Counting sort of the kept pairs by expert (stable in token order), row copies, weighted sums.
#include "train/token_permute.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace moe::train {

Permutation plan_permutation(std::span<const int32_t> experts, int64_t n_tokens, int64_t top_k,
                             int64_t n_experts) {
  MOE_ASSERT(static_cast<int64_t>(experts.size()) == n_tokens * top_k);
  Permutation perm;
  perm.n_tokens = n_tokens;
  perm.top_k = top_k;
  perm.offsets.assign(n_experts + 1, 0);
  for (int32_t expert : experts) {
    MOE_ASSERT(expert < n_experts);
    if (expert >= 0) ++perm.offsets[expert + 1];
  }
  for (int64_t e = 0; e < n_experts; ++e) perm.offsets[e + 1] += perm.offsets[e];
  std::vector<int64_t> cursor(perm.offsets.begin(), perm.offsets.end() - 1);
  perm.row_of_pair.assign(n_tokens * top_k, -1);
  perm.token_of_row.resize(perm.n_rows());
  for (int64_t pair = 0; pair < n_tokens * top_k; ++pair) {
    if (experts[pair] < 0) continue;
    const int64_t row = cursor[experts[pair]]++;
    perm.row_of_pair[pair] = row;
    perm.token_of_row[row] = pair / top_k;
  }
  return perm;
}

void permute_forward(float* rows, const float* x, const Permutation& perm, int64_t H) {
  for (int64_t row = 0; row < perm.n_rows(); ++row)
    std::memcpy(rows + row * H, x + perm.token_of_row[row] * H, H * sizeof(float));
}

void permute_backward(float* dx, const float* d_rows, const Permutation& perm, int64_t H) {
  for (int64_t pair = 0; pair < perm.n_tokens * perm.top_k; ++pair) {
    const int64_t row = perm.row_of_pair[pair];
    if (row < 0) continue;
    float* dst = dx + (pair / perm.top_k) * H;
    for (int64_t i = 0; i < H; ++i) dst[i] += d_rows[row * H + i];
  }
}

void combine_forward(float* out, const float* expert_out, std::span<const float> weights,
                     const Permutation& perm, int64_t H) {
  std::fill(out, out + perm.n_tokens * H, 0.0f);
  for (int64_t pair = 0; pair < perm.n_tokens * perm.top_k; ++pair) {
    const int64_t row = perm.row_of_pair[pair];
    if (row < 0) continue;
    float* dst = out + (pair / perm.top_k) * H;
    for (int64_t i = 0; i < H; ++i) dst[i] += weights[pair] * expert_out[row * H + i];
  }
}

void combine_backward(float* d_expert_out, std::span<float> d_weights, const float* dout,
                      const float* expert_out, std::span<const float> weights,
                      const Permutation& perm, int64_t H) {
  for (int64_t pair = 0; pair < perm.n_tokens * perm.top_k; ++pair) {
    const int64_t row = perm.row_of_pair[pair];
    if (row < 0) {
      d_weights[pair] = 0.0f;
      continue;
    }
    const float* dy = dout + (pair / perm.top_k) * H;
    double dot = 0.0;
    for (int64_t i = 0; i < H; ++i) {
      d_expert_out[row * H + i] = weights[pair] * dy[i];
      dot += static_cast<double>(dy[i]) * expert_out[row * H + i];
    }
    d_weights[pair] = static_cast<float>(dot);
  }
}

}  // namespace moe::train
