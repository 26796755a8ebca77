// Local dispatch: a counting sort of (token, j) assignments by expert, stable in token order.
#include "moe/dispatcher.h"

#include <algorithm>
#include <cstring>

namespace moe {

// Rows are copied and summed in ranges of tokens, side by side on the pool.
constexpr int64_t kTokensPerTask = 16;

void LocalDispatcher::dispatch(const float* hidden, int64_t hidden_size, const Routing& routing,
                               ExpertBatch& batch) {
  const int64_t n_assignments = routing.n_tokens * routing.top_k;
  batch.hidden_size = hidden_size;
  batch.expert_offsets.assign(n_experts_ + 1, 0);
  for (int32_t expert : routing.expert_ids) ++batch.expert_offsets[expert + 1];
  for (int64_t e = 0; e < n_experts_; ++e) batch.expert_offsets[e + 1] += batch.expert_offsets[e];

  std::vector<int64_t> cursor(batch.expert_offsets.begin(), batch.expert_offsets.end() - 1);
  batch.assignment_row.resize(n_assignments);
  for (int64_t a = 0; a < n_assignments; ++a) batch.assignment_row[a] = cursor[routing.expert_ids[a]]++;
  batch.rows.resize(n_assignments * hidden_size);
  parallel_ranges(pool_, routing.n_tokens, kTokensPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t a = begin * routing.top_k; a < end * routing.top_k; ++a)
      std::memcpy(batch.rows.data() + batch.assignment_row[a] * hidden_size, hidden + (a / routing.top_k) * hidden_size,
                  hidden_size * sizeof(float));
  });
}

void LocalDispatcher::combine(const ExpertBatch& batch, const float* expert_out,
                              const Routing& routing, float* output) {
  const int64_t hidden_size = batch.hidden_size;
  parallel_ranges(pool_, routing.n_tokens, kTokensPerTask, [&](int64_t begin, int64_t end) {
    std::fill(output + begin * hidden_size, output + end * hidden_size, 0.0f);
    for (int64_t token = begin; token < end; ++token) {
      float* dst = output + token * hidden_size;
      for (int64_t j = 0; j < routing.top_k; ++j) {
        const int64_t a = token * routing.top_k + j;
        const float weight = routing.weights[a];
        const float* src = expert_out + batch.assignment_row[a] * hidden_size;
        for (int64_t d = 0; d < hidden_size; ++d) dst[d] += weight * src[d];
      }
    }
  });
}

}  // namespace moe
