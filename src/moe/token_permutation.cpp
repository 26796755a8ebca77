// Counting sort of the kept pairs by expert (stable in token order), row copies, weighted sums.
#include "moe/token_permutation.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace moe {

namespace {

// Rows are copied and summed in ranges of tokens, side by side on the pool.
constexpr int64_t kTokensPerTask = 16;

}  // namespace

void plan_permutation(std::span<const int32_t> experts, int64_t n_tokens, int64_t top_k, int64_t n_experts,
                      Permutation& perm) {
  MOE_ASSERT(static_cast<int64_t>(experts.size()) == n_tokens * top_k);
  perm.n_tokens = n_tokens;
  perm.top_k = top_k;
  // Counts land one place ahead, so that after the prefix sum offsets[e + 1] is expert e's first
  // row: the cursor of the scatter, which leaves it at e's end, i.e. the final offsets[e + 1].
  perm.offsets.assign(n_experts + 2, 0);
  for (int32_t expert : experts) {
    MOE_ASSERT(expert < n_experts);
    if (expert >= 0) ++perm.offsets[expert + 2];
  }
  for (int64_t e = 0; e < n_experts; ++e) perm.offsets[e + 2] += perm.offsets[e + 1];
  perm.row_of_pair.resize(n_tokens * top_k);
  for (int64_t pair = 0; pair < n_tokens * top_k; ++pair)
    perm.row_of_pair[pair] = experts[pair] < 0 ? -1 : perm.offsets[experts[pair] + 1]++;
  perm.offsets.pop_back();
}

void permute_forward(float* rows, const float* x, const Permutation& perm, int64_t H, ThreadPool* pool) {
  parallel_ranges(pool, perm.n_tokens, kTokensPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t pair = begin * perm.top_k; pair < end * perm.top_k; ++pair) {
      const int64_t row = perm.row_of_pair[pair];
      if (row >= 0) std::memcpy(rows + row * H, x + (pair / perm.top_k) * H, H * sizeof(float));
    }
  });
}

void permute_backward(float* dx, const float* d_rows, const Permutation& perm, int64_t H) {
  for (int64_t pair = 0; pair < perm.n_tokens * perm.top_k; ++pair) {
    const int64_t row = perm.row_of_pair[pair];
    if (row < 0) continue;
    float* dst = dx + (pair / perm.top_k) * H;
    for (int64_t i = 0; i < H; ++i) dst[i] += d_rows[row * H + i];
  }
}

void combine_forward(float* out, const float* expert_out, std::span<const float> weights, const Permutation& perm,
                     int64_t H, ThreadPool* pool) {
  parallel_ranges(pool, perm.n_tokens, kTokensPerTask, [&](int64_t begin, int64_t end) {
    std::fill(out + begin * H, out + end * H, 0.0f);
    for (int64_t pair = begin * perm.top_k; pair < end * perm.top_k; ++pair) {
      const int64_t row = perm.row_of_pair[pair];
      if (row < 0) continue;
      float* dst = out + (pair / perm.top_k) * H;
      const float weight = weights[pair];
      const float* src = expert_out + row * H;
      for (int64_t i = 0; i < H; ++i) dst[i] += weight * src[i];
    }
  });
}

void combine_backward(float* d_expert_out, std::span<float> d_weights, const float* dout, const float* expert_out,
                      std::span<const float> weights, const Permutation& perm, int64_t H) {
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

}  // namespace moe
