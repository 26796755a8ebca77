// ExpertStats: live per-layer expert statistics, cheap enough to be always on: tokens routed to
// each expert and the routing probability mass they carried, per window of forward steps, plus
// the rows this rank received from each all-to-all peer. The input of `moe stats` and `moe eplb`.
#pragma once

#include <cstdint>
#include <vector>

#include "moe/router.h"

namespace moe {

class ExpertStats {
 public:
  ExpertStats(int64_t n_layers, int64_t n_experts, int64_t window_steps);

  // A layer's routing decisions for the tokens this rank owns.
  void record(int64_t layer, const Routing& routing);
  // Rows received from each peer in the layer's last dispatch.
  void record_received(int64_t layer, const std::vector<int64_t>& rows_per_peer);
  // One forward step done (windows are counted in steps).
  void end_step();

  int64_t n_layers() const { return n_layers_; }
  int64_t n_experts() const { return n_experts_; }
  int64_t window_steps() const { return window_steps_; }
  int64_t steps() const { return steps_; }
  // [layer][expert] totals.
  const std::vector<std::vector<double>>& tokens() const { return tokens_; }
  const std::vector<std::vector<double>>& prob_mass() const { return prob_mass_; }
  // [window][layer][expert] tokens.
  const std::vector<std::vector<std::vector<double>>>& window_tokens() const { return windows_; }
  // [layer][peer] rows received, summed over steps.
  const std::vector<std::vector<double>>& rows_received() const { return rows_received_; }

 private:
  int64_t n_layers_, n_experts_, window_steps_;
  int64_t steps_ = 0;
  std::vector<std::vector<double>> tokens_, prob_mass_, rows_received_;
  std::vector<std::vector<std::vector<double>>> windows_;
};

}  // namespace moe
