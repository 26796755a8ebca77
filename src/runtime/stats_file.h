// The --record-stats file: every rank's ExpertStats summed over the ranks that routed distinct
// tokens, written as JSON by rank 0 (format in docs/FORMATS.md), and read back by `moe stats`.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "moe/expert_stats.h"
#include "parallel/communicator.h"
#include "parallel/mapping.h"

namespace moe::runtime {

// Every rank's ExpertStats summed over the world: complete on rank 0 only. Matrices are flat,
// row-major.
struct GatheredStats {
  int64_t layers = 0, experts = 0, ranks = 0, ep = 0, windows = 0, steps = 0, window_steps = 0;
  std::vector<double> tokens, prob_mass;  // [layer][expert]
  std::vector<double> window_tokens;      // [window][layer][expert]
  std::vector<double> rows_received;      // [layer][world rank]
  std::vector<double> bytes_received;     // [world rank][EP peer]
  std::vector<double> dispatches;         // [layer][world rank]: 1 where the rank dispatched the layer
};
// Collective over `world`. `hidden_size` turns rows into all-to-all bytes.
GatheredStats gather_stats(parallel::Communicator& world, const parallel::Mapping& mapping, const ExpertStats& stats,
                           int64_t hidden_size);
// The --record-stats JSON (docs/FORMATS.md).
std::string stats_json(const GatheredStats& stats, const std::string& model);
// Collective over `world`: gather_stats, then rank 0 writes stats_json to `path`.
void write_stats_file(parallel::Communicator& world, const parallel::Mapping& mapping, const ExpertStats& stats,
                      int64_t hidden_size, const std::string& model, const std::string& path);
// Per layer, the busiest rank's rows over the mean of the ranks that dispatched the layer (1 when
// no rank did: one process, or experts split by TP only).
std::vector<double> max_mean_rank_rows(const GatheredStats& stats);

// Imbalance of one layer's expert loads when the experts are spread contiguously over `ranks`.
struct LayerImbalance {
  double max_mean_rank_load = 1;  // max rank load / mean rank load
  double excess = 0;              // (max - mean) / mean of the rank loads
  double cv = 0;                  // coefficient of variation of the expert loads
  double entropy = 1;             // entropy of the expert load distribution / log(n_experts)
};
LayerImbalance layer_imbalance(std::span<const double> expert_loads, int64_t ranks);

}  // namespace moe::runtime
