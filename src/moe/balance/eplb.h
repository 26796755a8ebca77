// DeepSeek's published expert-parallel load balancer (deepseek-ai/EPLB, eplb.py), one layer at a
// time: replicate the heaviest experts into the spare slots, then pack the replicas onto ranks.
// Hierarchical form: expert groups packed to nodes, replicas made within each node, packed to the
// node's ranks; global form: the same with one group and one node. Loads are float32 and every
// tie goes to the lowest index, as eplb.py computes on a CPU tensor, so the tables match it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "moe/balance/load_stats.h"
#include "moe/balance/placement.h"

namespace moe::balance {

enum class EplbPolicy {
  kGlobal,        // replicate globally, pack replicas to ranks (eplb.py's decode-stage policy)
  kHierarchical,  // groups -> nodes, replicate within nodes, pack to ranks (prefill-stage policy)
};

struct EplbConfig {
  int64_t num_slots = 0;   // physical experts per layer ("num_replicas")
  int64_t num_groups = 1;  // expert groups (DeepSeek-V3's n_group); must divide num_experts
  int64_t num_nodes = 1;   // nodes with fast links inside; must divide ranks (and num_groups)
  int64_t ranks = 0;       // EP ranks ("num_gpus"); must divide num_slots
  // Throws ConfigError naming the values: slots >= experts, slots % ranks, ranks % nodes, and for
  // the hierarchical policy experts % groups and groups % nodes.
  void validate(int64_t num_experts, EplbPolicy policy) const;
};

// eplb.py's own choice: hierarchical when num_groups % num_nodes == 0, else global.
EplbPolicy default_policy(const EplbConfig& config);

// The placement for every layer of `load`.
Placement rebalance_experts(const LoadMatrix& load, const EplbConfig& config, EplbPolicy policy);

// The steps, exposed for tests. balanced_packing: n items into n / items_per_pack packs of exactly
// items_per_pack items, heaviest first into the lightest pack that has room.
struct Packing {
  std::vector<int64_t> pack_index;    // [n] pack of each item
  std::vector<int64_t> rank_in_pack;  // [n] position inside its pack
};
Packing balanced_packing(std::span<const float> weight, int64_t num_packs);

// replicate_experts: num_phy - num_log extra replicas, each to the expert with the largest load
// per replica; returns each physical expert's logical expert and replica rank.
struct Replication {
  std::vector<int64_t> phy2log;  // [num_phy]
  std::vector<int64_t> rank;     // [num_phy] replica rank (0 = the expert's first copy)
  std::vector<int64_t> logcnt;   // [num_log]
};
Replication replicate_experts(std::span<const float> weight, int64_t num_phy);

// rebalance_experts_hierarchical for one layer: slots in rank order; `rank` orders log2phy.
Replication rebalance_layer_hierarchical(std::span<const float> weight, int64_t num_phy, int64_t num_groups,
                                         int64_t num_nodes, int64_t num_gpus);

}  // namespace moe::balance
