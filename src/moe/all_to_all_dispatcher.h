// AllToAllDispatcher: expert parallelism. Each rank routes the tokens it owns, sends every
// (token, expert) row to the rank that holds the expert with one all-to-all(v), runs its local
// experts on exactly the rows it received, and sends the results back with a second all-to-all;
// the owner combines its tokens' k results in k order. Experts are batch invariant, so the
// outputs are bit-identical to one process.
#pragma once

#include <string>
#include <vector>

#include "core/phase_timer.h"
#include "moe/dispatcher.h"
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
  void set_location(std::string where) override { where_ = std::move(where); }

 private:
  parallel::Communicator& group_;
  int64_t n_experts_;
  int64_t n_local_;
  bool check_dispatch_;
  std::string where_;
  LocalDispatcher local_;
  ExpertBatch sent_;                     // this rank's rows grouped by expert (send order)
  std::vector<int64_t> send_counts_;     // rows per peer
  std::vector<int64_t> recv_counts_;     // rows per peer
  std::vector<int64_t> recv_expert_counts_;  // [peer][local expert] rows
  std::vector<int64_t> batch_to_received_;   // batch row -> position in the received buffer
  // Exchange buffers, kept between layers and steps so decode does not allocate per layer.
  std::vector<float> received_, results_, returned_;
  DispatchStats stats_;
};

}  // namespace moe
