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

// Collective over `world`. `hidden_size` turns rows into all-to-all bytes.
void write_stats_file(parallel::Communicator& world, const parallel::Mapping& mapping, const ExpertStats& stats,
                      int64_t hidden_size, const std::string& model, const std::string& path);

// Imbalance of one layer's expert loads when the experts are spread contiguously over `ranks`.
struct LayerImbalance {
  double max_mean_rank_load = 1;  // max rank load / mean rank load
  double excess = 0;              // (max - mean) / mean of the rank loads
  double cv = 0;                  // coefficient of variation of the expert loads
  double entropy = 1;             // entropy of the expert load distribution / log(n_experts)
};
LayerImbalance layer_imbalance(std::span<const double> expert_loads, int64_t ranks);

}  // namespace moe::runtime
