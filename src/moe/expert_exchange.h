// The expert-parallel exchange, shared by inference (AllToAllDispatcher) and the training MoE layer
// (forward, and backward with the same two moves for the gradients), as Megatron-Core's all-to-all
// token dispatcher: a rank's rows, grouped by global expert, go to the EP ranks holding those
// experts, are regrouped there expert-major (for each local expert the rows of peer 0, then peer 1,
// ...: Megatron's sort_chunks_by_idxs), and come back after the experts in the sender's order.
// Only rows move, so an expert sees the same rows in the same order as in one process. Buffers
// are kept between calls: decode exchanges once per layer and token.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/phase_timer.h"
#include "parallel/communicator.h"

namespace moe {

struct ExchangePlan {
  std::vector<int64_t> send_rows;    // [ep] rows to each peer
  std::vector<int64_t> recv_rows;    // [ep] rows from each peer
  std::vector<int64_t> recv_counts;  // [ep][local experts] rows from each peer for each local expert
  std::vector<int64_t> offsets;      // [local experts + 1] expert-major row offsets here
  int64_t n_rows() const { return offsets.empty() ? 0 : offsets.back(); }
};

class ExpertExchange {
 public:
  // ep: the EP group; its rank r holds experts [r * E / ep, (r + 1) * E / ep). check: after each
  // plan, all-reduce the per-expert counts sent and held and fail on a difference (--check-dispatch).
  ExpertExchange(parallel::Communicator& ep, int64_t n_experts, bool check = false);

  int64_t first_expert() const { return first_; }
  int64_t local_experts() const { return local_; }
  // Names the next exchanges in timeouts and errors ("layer 3, micro-batch 0").
  void set_location(std::string where) { where_ = std::move(where); }
  // Seconds inside the all-to-alls, accumulated: plan and dispatch under kDispatch, combine under
  // kCombine.
  const PhaseTimes& comm_times() const { return comm_; }

  // From the row offsets of the global experts ([E + 1], rows grouped by expert), exchanges the
  // per-expert counts and fills where the rows go and land.
  void plan(std::span<const int64_t> offsets, ExchangePlan& plan);
  // rows [R][H] (global expert order) -> out: the local experts' rows, expert-major.
  void dispatch(const ExchangePlan& plan, const float* rows, int64_t H, std::vector<float>& out);
  // The inverse: expert-major rows here -> out [R][H] back at the rows' own ranks, in their order.
  void combine(const ExchangePlan& plan, const float* expert_rows, int64_t H, std::vector<float>& out);

 private:
  // Copies between the received peer-major layout and the expert-major one.
  void regroup(const ExchangePlan& plan, const float* from, float* to, int64_t H, bool to_expert_major);
  void check_counts(const ExchangePlan& plan);

  parallel::Communicator* ep_;
  int64_t n_experts_, local_, first_;
  bool check_;
  std::string where_ = "expert exchange";
  PhaseTimes comm_;
  // Kept between calls so that decode does not allocate per layer.
  std::vector<int64_t> per_expert_, count_sends_, count_recvs_, send_elems_, recv_elems_, cursor_;
  std::vector<float> staging_;
};

}  // namespace moe
