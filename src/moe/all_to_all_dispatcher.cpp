// Two all-to-alls per MoE layer: rows out to the experts' ranks, results back to the owners.
#include "moe/all_to_all_dispatcher.h"

#include <cstring>

#include "core/error.h"

namespace moe {


AllToAllDispatcher::AllToAllDispatcher(parallel::Communicator& group, int64_t n_experts, bool check_dispatch)
    : group_(group),
      n_experts_(n_experts),
      n_local_(n_experts / group.size()),
      check_dispatch_(check_dispatch),
      local_(n_experts) {
  MOE_CHECK(n_experts % group.size() == 0, ConfigError, "moe_expert_parallel_size = ", group.size(),
            " does not divide num_experts = ", n_experts);
}

void AllToAllDispatcher::dispatch(const float* hidden, int64_t hidden_size, const Routing& routing,
                                  ExpertBatch& batch) {
  const int n_peers = group_.size();
  // Rows grouped by global expert = grouped by (peer, local expert): ready to send.
  local_.dispatch(hidden, hidden_size, routing, sent_);
  std::vector<int64_t> expert_counts(n_experts_);
  for (int64_t e = 0; e < n_experts_; ++e) expert_counts[e] = sent_.expert_offsets[e + 1] - sent_.expert_offsets[e];
  send_counts_.assign(n_peers, 0);
  for (int64_t e = 0; e < n_experts_; ++e) send_counts_[e / n_local_] += expert_counts[e];

  // Per-expert counts travel first (n_local per peer), then the rows.
  std::vector<int64_t> counts_per_peer(n_peers, n_local_), received_counts;
  {
    ScopedPhase timer(stats_.comm, Phase::kDispatch);
    group_.alltoallv(expert_counts.data(), counts_per_peer, recv_expert_counts_, received_counts, where_ + " (counts)");
  }
  recv_counts_.assign(n_peers, 0);
  for (int peer = 0; peer < n_peers; ++peer)
    for (int64_t le = 0; le < n_local_; ++le) recv_counts_[peer] += recv_expert_counts_[peer * n_local_ + le];

  std::vector<int64_t> send_elems(n_peers), recv_elems;
  for (int peer = 0; peer < n_peers; ++peer) send_elems[peer] = send_counts_[peer] * hidden_size;
  {
    ScopedPhase timer(stats_.comm, Phase::kDispatch);
    group_.alltoallv(sent_.rows.data(), send_elems, received_, recv_elems, where_ + " (dispatch)");
  }
  for (int peer = 0; peer < n_peers; ++peer)
    MOE_CHECK(recv_elems[peer] == recv_counts_[peer] * hidden_size, Error, where_, ": rank ", group_.rank(),
              " expected ", recv_counts_[peer], " rows from peer ", peer, " but received ",
              recv_elems[peer] / hidden_size);
  stats_.rows_sent = send_counts_;
  stats_.rows_received = recv_counts_;

  // Regroup by local expert: for each expert, the rows of peer 0, then peer 1, ...
  std::vector<int64_t> peer_offset(n_peers + 1, 0);
  for (int peer = 0; peer < n_peers; ++peer) peer_offset[peer + 1] = peer_offset[peer] + recv_counts_[peer];
  batch.hidden_size = hidden_size;
  batch.expert_offsets.assign(n_local_ + 1, 0);
  batch_to_received_.clear();
  for (int64_t le = 0; le < n_local_; ++le) {
    for (int peer = 0; peer < n_peers; ++peer) {
      int64_t position = peer_offset[peer];
      for (int64_t before = 0; before < le; ++before) position += recv_expert_counts_[peer * n_local_ + before];
      for (int64_t i = 0; i < recv_expert_counts_[peer * n_local_ + le]; ++i) batch_to_received_.push_back(position + i);
    }
    batch.expert_offsets[le + 1] = static_cast<int64_t>(batch_to_received_.size());
  }
  const int64_t n_rows = batch.n_rows();
  batch.rows.resize(n_rows * hidden_size);
  for (int64_t row = 0; row < n_rows; ++row)
    std::memcpy(batch.rows.data() + row * hidden_size, received_.data() + batch_to_received_[row] * hidden_size,
                hidden_size * sizeof(float));
  if (check_dispatch_) {
    // Every rank's rows for each expert must arrive: compare global per-expert sums.
    std::vector<double> sent_per_expert(n_experts_), held_per_expert(n_experts_, 0.0);
    for (int64_t e = 0; e < n_experts_; ++e) sent_per_expert[e] = static_cast<double>(expert_counts[e]);
    for (int64_t le = 0; le < n_local_; ++le)
      held_per_expert[group_.rank() * n_local_ + le] = static_cast<double>(batch.expert_offsets[le + 1] - batch.expert_offsets[le]);
    group_.allreduce_sum(sent_per_expert.data(), n_experts_);
    group_.allreduce_sum(held_per_expert.data(), n_experts_);
    for (int64_t e = 0; e < n_experts_; ++e)
      MOE_CHECK(sent_per_expert[e] == held_per_expert[e], Error, where_, ": --check-dispatch: expert ", e, " was sent ",
                sent_per_expert[e], " rows but holds ", held_per_expert[e]);
  }
}

void AllToAllDispatcher::combine(const ExpertBatch& batch, const float* expert_out, const Routing& routing,
                                 float* output) {
  const int n_peers = group_.size();
  const int64_t hidden_size = batch.hidden_size, n_rows = batch.n_rows();
  // Results back into received order, then home to their owners.
  results_.resize(n_rows * hidden_size);
  for (int64_t row = 0; row < n_rows; ++row)
    std::memcpy(results_.data() + batch_to_received_[row] * hidden_size, expert_out + row * hidden_size,
                hidden_size * sizeof(float));
  std::vector<int64_t> send_elems(n_peers), recv_elems;
  for (int peer = 0; peer < n_peers; ++peer) send_elems[peer] = recv_counts_[peer] * hidden_size;
  {
    ScopedPhase timer(stats_.comm, Phase::kCombine);
    group_.alltoallv(results_.data(), send_elems, returned_, recv_elems, where_ + " (combine)");
  }
  // `returned_` is in send order, which is LocalDispatcher's row order for this rank's tokens.
  local_.combine(sent_, returned_.data(), routing, output);
}

}  // namespace moe
