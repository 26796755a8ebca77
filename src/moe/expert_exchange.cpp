// All-to-all(v) of expert rows over the EP group, and the peer-major <-> expert-major regrouping.
#include "moe/expert_exchange.h"

#include <algorithm>

#include "core/error.h"

namespace moe {

ExpertExchange::ExpertExchange(parallel::Communicator& ep, int64_t n_experts, bool check)
    : ep_(&ep), n_experts_(n_experts), local_(n_experts / ep.size()), first_(ep.rank() * local_), check_(check) {
  MOE_CHECK(n_experts % ep.size() == 0, ConfigError, "moe_expert_parallel_size = ", ep.size(),
            " does not divide num_experts = ", n_experts);
}

void ExpertExchange::plan(std::span<const int64_t> offsets, ExchangePlan& p) {
  MOE_ASSERT(static_cast<int64_t>(offsets.size()) == n_experts_ + 1);
  const int peers = ep_->size();
  per_expert_.resize(n_experts_);
  for (int64_t e = 0; e < n_experts_; ++e) per_expert_[e] = offsets[e + 1] - offsets[e];
  p.send_rows.resize(peers);
  for (int peer = 0; peer < peers; ++peer) p.send_rows[peer] = offsets[(peer + 1) * local_] - offsets[peer * local_];
  count_sends_.assign(peers, local_);
  {
    ScopedPhase timer(comm_, Phase::kDispatch);
    ep_->alltoallv(per_expert_.data(), count_sends_, p.recv_counts, count_recvs_, where_ + " (counts)");
  }
  p.recv_rows.assign(peers, 0);
  p.offsets.assign(local_ + 1, 0);
  for (int peer = 0; peer < peers; ++peer)
    for (int64_t e = 0; e < local_; ++e) {
      p.recv_rows[peer] += p.recv_counts[peer * local_ + e];
      p.offsets[e + 1] += p.recv_counts[peer * local_ + e];
    }
  for (int64_t e = 0; e < local_; ++e) p.offsets[e + 1] += p.offsets[e];
  if (check_) check_counts(p);
}

void ExpertExchange::check_counts(const ExchangePlan& p) {
  // Every rank's rows for each expert must arrive: compare global per-expert sums.
  std::vector<double> sent(per_expert_.begin(), per_expert_.end()), held(n_experts_, 0.0);
  for (int64_t e = 0; e < local_; ++e) held[first_ + e] = static_cast<double>(p.offsets[e + 1] - p.offsets[e]);
  ep_->allreduce_sum(sent.data(), n_experts_);
  ep_->allreduce_sum(held.data(), n_experts_);
  for (int64_t e = 0; e < n_experts_; ++e)
    MOE_CHECK(sent[e] == held[e], Error, where_, ": --check-dispatch: expert ", e, " was sent ", sent[e],
              " rows but holds ", held[e]);
}

void ExpertExchange::regroup(const ExchangePlan& p, const float* from, float* to, int64_t H, bool to_expert_major) {
  cursor_.assign(p.offsets.begin(), p.offsets.end() - 1);
  int64_t peer_row = 0;
  for (int peer = 0; peer < ep_->size(); ++peer)
    for (int64_t e = 0; e < local_; ++e) {
      const int64_t n = p.recv_counts[peer * local_ + e];
      const float* src = from + (to_expert_major ? peer_row : cursor_[e]) * H;
      float* dst = to + (to_expert_major ? cursor_[e] : peer_row) * H;
      std::copy(src, src + n * H, dst);
      peer_row += n;
      cursor_[e] += n;
    }
}

void ExpertExchange::dispatch(const ExchangePlan& p, const float* rows, int64_t H, std::vector<float>& out) {
  const int peers = ep_->size();
  send_elems_.resize(peers);
  for (int peer = 0; peer < peers; ++peer) send_elems_[peer] = p.send_rows[peer] * H;
  {
    ScopedPhase timer(comm_, Phase::kDispatch);
    ep_->alltoallv(rows, send_elems_, staging_, recv_elems_, where_ + " (dispatch)", H);
  }
  for (int peer = 0; peer < peers; ++peer)
    MOE_CHECK(recv_elems_[peer] == p.recv_rows[peer] * H, Error, where_, ": rank ", ep_->rank(), " expected ",
              p.recv_rows[peer], " rows from peer ", peer, " but received ", recv_elems_[peer] / H);
  out.resize(p.n_rows() * H);
  regroup(p, staging_.data(), out.data(), H, true);
}

void ExpertExchange::combine(const ExchangePlan& p, const float* expert_rows, int64_t H, std::vector<float>& out) {
  const int peers = ep_->size();
  staging_.resize(p.n_rows() * H);
  regroup(p, expert_rows, staging_.data(), H, false);
  send_elems_.resize(peers);
  for (int peer = 0; peer < peers; ++peer) send_elems_[peer] = p.recv_rows[peer] * H;
  ScopedPhase timer(comm_, Phase::kCombine);
  ep_->alltoallv(staging_.data(), send_elems_, out, recv_elems_, where_ + " (combine)", H);
}

}  // namespace moe
