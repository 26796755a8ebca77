// Counting only: a few additions per routed token.
#include "moe/expert_stats.h"

#include "core/error.h"

namespace moe {

ExpertStats::ExpertStats(int64_t n_layers, int64_t n_experts, int64_t window_steps)
    : n_layers_(n_layers),
      n_experts_(n_experts),
      window_steps_(window_steps),
      tokens_(n_layers, std::vector<double>(n_experts, 0.0)),
      prob_mass_(n_layers, std::vector<double>(n_experts, 0.0)),
      rows_received_(n_layers) {
  MOE_CHECK(window_steps >= 1, UsageError, "--stats-window: must be >= 1, got ", window_steps);
}

void ExpertStats::record(int64_t layer, const Routing& routing) {
  while (steps_ / window_steps_ >= static_cast<int64_t>(windows_.size()))
    windows_.emplace_back(n_layers_, std::vector<double>(n_experts_, 0.0));
  std::vector<double>& window = windows_.back()[layer];
  for (size_t a = 0; a < routing.expert_ids.size(); ++a) {
    const int32_t expert = routing.expert_ids[a];
    tokens_[layer][expert] += 1;
    prob_mass_[layer][expert] += routing.weights[a];
    window[expert] += 1;
  }
}

void ExpertStats::record_received(int64_t layer, const std::vector<int64_t>& rows_per_peer) {
  std::vector<double>& received = rows_received_[layer];
  received.resize(rows_per_peer.size(), 0.0);
  for (size_t peer = 0; peer < rows_per_peer.size(); ++peer) received[peer] += static_cast<double>(rows_per_peer[peer]);
}

void ExpertStats::end_step() { ++steps_; }

}  // namespace moe
