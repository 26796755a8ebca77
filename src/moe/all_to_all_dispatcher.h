// AllToAllDispatcher: expert parallelism. Each rank routes the tokens it owns, permutes every
// (token, expert) row by expert (LocalDispatcher), sends the rows to the ranks that hold their
// experts and the results back (ExpertExchange: two all-to-all(v)s), and the owner combines its
// tokens' k results in k order. Experts are batch invariant, so the outputs are bit-identical to
// one process.
#pragma once

#include <string>
#include <vector>

#include "core/phase_timer.h"
#include "moe/dispatcher.h"
#include "moe/expert_exchange.h"
#include "parallel/communicator.h"

namespace moe {

// Rows and bytes moved by the last dispatch, for --check-dispatch and --profile.
struct DispatchStats {
  std::vector<int64_t> rows_sent;      // per peer, last dispatch
  std::vector<int64_t> rows_received;  // per peer, last dispatch
  PhaseTimes comm;                     // all-to-all seconds inside kDispatch and kCombine, accumulated
};

class AllToAllDispatcher final : public Dispatcher {
 public:
  // Experts [rank * n/size, (rank + 1) * n/size) live on rank `rank` of `group`.
  AllToAllDispatcher(parallel::Communicator& group, int64_t n_experts, bool check_dispatch);
  void dispatch(const float* hidden, int64_t hidden_size, const Routing& routing, ExpertBatch& batch) override;
  void combine(const ExpertBatch& batch, const float* expert_out, const Routing& routing, float* output) override;
  const DispatchStats& stats() const { return stats_; }
  void set_location(std::string where) override { exchange_.set_location(std::move(where)); }

 private:
  ExpertExchange exchange_;
  LocalDispatcher local_;
  ExpertBatch sent_;   // this rank's rows grouped by expert (send order)
  ExchangePlan plan_;  // of the last dispatch
  // Kept between layers and steps so decode does not allocate per layer.
  std::vector<float> returned_;
  DispatchStats stats_;
};

}  // namespace moe
