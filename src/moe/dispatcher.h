// Dispatcher: moves each token's hidden state to the experts it was routed to, grouped by expert
// (rows of one expert contiguous, in token order), and combines the experts' outputs back:
// out[t] = sum_j weight[t, j] * expert_out[row of (t, j)], summed in j order (deterministic).
// LocalDispatcher serves one process (token_permutation.h); parallel dispatchers (all-to-all)
// share this interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "moe/router.h"
#include "moe/token_permutation.h"

namespace moe {

// Rows for the local experts: rows of local expert e are [expert_offsets[e], expert_offsets[e+1]).
struct ExpertBatch {
  int64_t hidden_size = 0;
  std::vector<int64_t> expert_offsets;
  std::vector<float> rows;  // [n_rows, hidden_size]
  int64_t n_rows() const { return expert_offsets.empty() ? 0 : expert_offsets.back(); }
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  // hidden: [n_tokens, hidden_size].
  virtual void dispatch(const float* hidden, int64_t hidden_size, const Routing& routing, ExpertBatch& batch) = 0;
  // expert_out: [batch.n_rows(), hidden_size]; output: [n_tokens, hidden_size], overwritten.
  virtual void combine(const ExpertBatch& batch, const float* expert_out, const Routing& routing, float* output) = 0;
  // Names where the next dispatch happens ("layer 3, micro-batch 0") for error messages.
  virtual void set_location(std::string where) {}
};

class LocalDispatcher final : public Dispatcher {
 public:
  // `pool` (may be null) copies and sums the rows of ranges of tokens side by side.
  explicit LocalDispatcher(int64_t n_experts, ThreadPool* pool = nullptr) : n_experts_(n_experts), pool_(pool) {}
  void dispatch(const float* hidden, int64_t hidden_size, const Routing& routing, ExpertBatch& batch) override;
  // Combines with the permutation of the last dispatch.
  void combine(const ExpertBatch& batch, const float* expert_out, const Routing& routing, float* output) override;

 private:
  int64_t n_experts_;
  ThreadPool* pool_;
  Permutation perm_;  // of the last dispatch, its buffers reused
};

}  // namespace moe
