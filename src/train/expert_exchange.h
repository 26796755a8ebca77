// The expert-parallel exchange of the training MoE layer (Megatron-Core's all-to-all token
// dispatcher): a rank's permuted rows (grouped by global expert) go to the EP ranks holding those
// experts, are regrouped there expert-major (for each local expert, the rows of peer 0, then peer
// 1, ...: Megatron's sort_chunks_by_idxs), and come back in the same order after the experts.
// Backward uses the same two moves: the rows' output gradients are dispatched, their input
// gradients combined back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parallel/communicator.h"

namespace moe::train {

struct ExchangePlan {
  std::vector<int64_t> send_rows;    // [ep] rows to each peer
  std::vector<int64_t> recv_rows;    // [ep] rows from each peer
  std::vector<int64_t> recv_counts;  // [ep][local experts] rows from each peer for each local expert
  std::vector<int64_t> offsets;      // [local experts + 1] expert-major row offsets here
};

class ExpertExchange {
 public:
  // ep: the EP group; its rank r holds experts [r * E / ep, (r + 1) * E / ep).
  ExpertExchange(parallel::Communicator& ep, int64_t n_experts);

  int64_t first_expert() const { return first_; }
  int64_t local_experts() const { return local_; }

  // From the row offsets of the global experts ([E + 1], rows grouped by expert), exchanges the
  // per-expert counts and returns where the rows go and land.
  ExchangePlan plan(std::span<const int64_t> offsets);
  // rows [R][H] (global expert order) -> out: the local experts' rows, expert-major.
  void dispatch(const ExchangePlan& plan, const float* rows, int64_t H, std::vector<float>& out);
  // The inverse: expert-major rows here -> out [R][H] back at the rows' own ranks, in their order.
  void combine(const ExchangePlan& plan, const float* expert_rows, int64_t H, std::vector<float>& out);

 private:
  parallel::Communicator* ep_;
  int64_t n_experts_, local_, first_;
  std::vector<float> staging_;
  std::vector<int64_t> counts_;
};

}  // namespace moe::train
