// All-to-all(v) of expert rows over the EP group, and the peer-major <-> expert-major regrouping.
#include "train/expert_exchange.h"

#include <algorithm>

#include "core/error.h"

namespace moe::train {

ExpertExchange::ExpertExchange(parallel::Communicator& ep, int64_t n_experts)
    : ep_(&ep), n_experts_(n_experts), local_(n_experts / ep.size()), first_(ep.rank() * local_) {
  MOE_ASSERT(n_experts % ep.size() == 0);
}

ExchangePlan ExpertExchange::plan(std::span<const int64_t> offsets) {
  MOE_ASSERT(static_cast<int64_t>(offsets.size()) == n_experts_ + 1);
  const int peers = ep_->size();
  std::vector<int64_t> per_expert(n_experts_);
  for (int64_t e = 0; e < n_experts_; ++e) per_expert[e] = offsets[e + 1] - offsets[e];
  ExchangePlan p;
  p.send_rows.assign(peers, 0);
  for (int peer = 0; peer < peers; ++peer)
    p.send_rows[peer] = offsets[(peer + 1) * local_] - offsets[peer * local_];
  std::vector<int64_t> count_sends(peers, local_), count_recvs;
  ep_->alltoallv(per_expert.data(), count_sends, p.recv_counts, count_recvs, "training expert counts");
  p.recv_rows.assign(peers, 0);
  p.offsets.assign(local_ + 1, 0);
  for (int peer = 0; peer < peers; ++peer)
    for (int64_t e = 0; e < local_; ++e) {
      p.recv_rows[peer] += p.recv_counts[peer * local_ + e];
      p.offsets[e + 1] += p.recv_counts[peer * local_ + e];
    }
  for (int64_t e = 0; e < local_; ++e) p.offsets[e + 1] += p.offsets[e];
  return p;
}

namespace {

// Copies between the peer-major layout (peer p's rows for local experts 0, 1, ...) and the
// expert-major one; to_expert_major selects the direction.
void regroup(const ExchangePlan& p, int64_t local, const float* from, float* to, int64_t H, bool to_expert_major) {
  const int peers = static_cast<int>(p.recv_rows.size());
  std::vector<int64_t> expert_cursor(p.offsets.begin(), p.offsets.end() - 1);
  int64_t peer_row = 0;
  for (int peer = 0; peer < peers; ++peer)
    for (int64_t e = 0; e < local; ++e) {
      const int64_t n = p.recv_counts[peer * local + e];
      const float* src = from + (to_expert_major ? peer_row : expert_cursor[e]) * H;
      float* dst = to + (to_expert_major ? expert_cursor[e] : peer_row) * H;
      std::copy(src, src + n * H, dst);
      peer_row += n;
      expert_cursor[e] += n;
    }
}

std::vector<int64_t> times(const std::vector<int64_t>& rows, int64_t H) {
  std::vector<int64_t> out(rows);
  for (int64_t& v : out) v *= H;
  return out;
}

}  // namespace

void ExpertExchange::dispatch(const ExchangePlan& plan, const float* rows, int64_t H, std::vector<float>& out) {
  ep_->alltoallv(rows, times(plan.send_rows, H), staging_, counts_, "training expert dispatch", H);
  out.resize(plan.offsets.back() * H);
  regroup(plan, local_, staging_.data(), out.data(), H, true);
}

void ExpertExchange::combine(const ExchangePlan& plan, const float* expert_rows, int64_t H, std::vector<float>& out) {
  std::vector<float> peer_major(plan.offsets.back() * H);
  regroup(plan, local_, expert_rows, peer_major.data(), H, false);
  ep_->alltoallv(peer_major.data(), times(plan.recv_rows, H), out, counts_, "training expert combine", H);
}

}  // namespace moe::train
