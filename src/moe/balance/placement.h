// Expert placement for Wide-EP: which expert each slot holds, per MoE layer, in the tables DeepSeek's
// EPLB returns (phy2log, logcnt, log2phy). Slot s lives on EP rank s / (num_slots / ranks).
// Also the load model every balancer is scored with: an expert's tokens split evenly over its
// replicas, a rank's load the sum over its slots.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moe::balance {

// One layer. Shapes: S slots, E experts, W = the placement's largest replica count.
struct LayerPlacement {
  std::vector<int64_t> phy2log;               // [S] the expert each slot holds
  std::vector<int64_t> logcnt;                // [E] replicas of each expert (>= 1)
  std::vector<std::vector<int64_t>> log2phy;  // [E][W] each expert's slots, then -1 padding
};

struct Placement {
  std::vector<LayerPlacement> layers;
  int64_t num_slots = 0;    // slots per layer, all ranks together
  int64_t num_experts = 0;  // the model's routed experts per layer
  int64_t ranks = 0;        // EP ranks; each holds num_slots / ranks consecutive slots

  int64_t slots_per_rank() const { return num_slots / ranks; }
  int rank_of_slot(int64_t slot) const { return static_cast<int>(slot / slots_per_rank()); }
  // Throws ConfigError naming `where` (a file name), the layer and the expert or slot at fault:
  // num_slots >= num_experts, num_slots % ranks == 0, every expert on >= 1 slot, and phy2log,
  // logcnt and log2phy describing the same assignment.
  void validate(const std::string& where = "placement") const;
};

// A layer's tables from phy2log alone: logcnt counted, log2phy listing each expert's slots in slot
// order, padded with -1 to `width` (at least the largest count; 0 = exactly the largest count).
LayerPlacement layer_from_phy2log(std::vector<int64_t> phy2log, int64_t num_experts, int64_t width = 0);
// Re-pads every layer's log2phy to the largest replica count over all layers (as DeepSeek's
// rebalance_experts returns one [layers, experts, max count] tensor).
void pad_log2phy(Placement& placement);

// The placement before any balancing: slot s holds expert s % num_experts, on every layer.
Placement identity_placement(int64_t n_layers, int64_t num_experts, int64_t num_slots, int64_t ranks);

// Token load of each rank: expert e's load split evenly over its logcnt[e] replicas.
std::vector<double> rank_loads(const Placement& placement, int64_t layer, std::span<const double> expert_load);
// max / mean of the rank loads; 1 when every load is 0.
double max_mean_ratio(std::span<const double> loads);

// Slots whose expert differs between two placements of one layer (each needs that expert's
// weights copied in).
int64_t changed_slots(const LayerPlacement& before, const LayerPlacement& after);

// JSON form: {"num_experts", "num_slots", "ranks", "layers": [{"phy2log", "logcnt", "log2phy"}]}.
nlohmann::json placement_to_json(const Placement& placement);
// Throws FormatError (naming `where`) for a missing or mistyped key, ConfigError from validate().
Placement placement_from_json(const nlohmann::json& value, const std::string& where);
// Files: read throws IoError/FormatError/ConfigError naming the path; write is atomic.
Placement read_placement_file(const std::string& path);
void write_placement_file(const std::string& path, const Placement& placement);

}  // namespace moe::balance
