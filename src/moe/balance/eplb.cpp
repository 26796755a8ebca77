// DeepSeek's EPLB in C++, one layer at a time (eplb.py batches layers; each row is independent).
// Shapes: E logical experts, P physical slots, G groups, N nodes, R ranks.
#include "moe/balance/eplb.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace moe::balance {

namespace {

// Item indices by weight, heaviest first, equal weights in index order (torch's CPU sort of a
// short row: libstdc++'s std::sort is an insertion sort below 16 items, hence stable).
std::vector<int64_t> heaviest_first(std::span<const float> weight) {
  std::vector<int64_t> order(weight.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return weight[a] > weight[b]; });
  return order;
}

std::vector<int64_t> inverse(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t idx = 0; idx < perm.size(); ++idx) inv[perm[idx]] = static_cast<int64_t>(idx);
  return inv;
}

}  // namespace

void EplbConfig::validate(int64_t num_experts, EplbPolicy policy) const {
  MOE_CHECK(num_experts >= 1, ConfigError, "eplb: need at least one expert");
  MOE_CHECK(ranks >= 1, ConfigError, "--ranks: must be >= 1, got ", ranks);
  MOE_CHECK(num_nodes >= 1, ConfigError, "--nodes: must be >= 1, got ", num_nodes);
  MOE_CHECK(num_groups >= 1, ConfigError, "--groups: must be >= 1, got ", num_groups);
  MOE_CHECK(num_slots >= num_experts, ConfigError, "--slots: ", num_slots, " slots is fewer than the ", num_experts,
            " experts");
  MOE_CHECK(num_slots % ranks == 0, ConfigError, "--slots: ", num_slots, " slots do not divide evenly over --ranks ",
            ranks);
  MOE_CHECK(ranks % num_nodes == 0, ConfigError, "--nodes: ", num_nodes, " nodes do not divide --ranks ", ranks);
  if (policy != EplbPolicy::kHierarchical) return;
  MOE_CHECK(num_experts % num_groups == 0, ConfigError, "--groups: ", num_groups, " groups do not divide the ",
            num_experts, " experts");
  MOE_CHECK(num_groups % num_nodes == 0, ConfigError, "--groups: the hierarchical policy needs ", "--nodes (",
            num_nodes, ") to divide --groups (", num_groups, ")");
}

EplbPolicy default_policy(const EplbConfig& config) {
  return config.num_groups % config.num_nodes == 0 ? EplbPolicy::kHierarchical : EplbPolicy::kGlobal;
}

Packing balanced_packing(std::span<const float> weight, int64_t num_packs) {
  const int64_t n_items = static_cast<int64_t>(weight.size());
  MOE_ASSERT(num_packs >= 1 && n_items % num_packs == 0);
  const int64_t items_per_pack = n_items / num_packs;
  Packing packing;
  packing.pack_index.assign(n_items, -1);
  packing.rank_in_pack.assign(n_items, -1);
  if (items_per_pack == 1) {  // eplb.py's shortcut: item i alone in pack i, whatever its weight
    std::iota(packing.pack_index.begin(), packing.pack_index.end(), 0);
    std::fill(packing.rank_in_pack.begin(), packing.rank_in_pack.end(), 0);
    return packing;
  }
  std::vector<float> pack_weight(num_packs, 0.0f);
  std::vector<int64_t> pack_items(num_packs, 0);
  for (int64_t item : heaviest_first(weight)) {
    int64_t best = -1;
    for (int64_t pack = 0; pack < num_packs; ++pack)  // the first of the lightest with room
      if (pack_items[pack] < items_per_pack && (best < 0 || pack_weight[pack] < pack_weight[best])) best = pack;
    packing.pack_index[item] = best;
    packing.rank_in_pack[item] = pack_items[best]++;
    pack_weight[best] += weight[item];
  }
  return packing;
}

Replication replicate_experts(std::span<const float> weight, int64_t num_phy) {
  const int64_t num_log = static_cast<int64_t>(weight.size());
  MOE_ASSERT(num_phy >= num_log);
  Replication out;
  out.phy2log.resize(num_phy);
  out.rank.assign(num_phy, 0);
  out.logcnt.assign(num_log, 1);
  std::iota(out.phy2log.begin(), out.phy2log.begin() + num_log, 0);
  for (int64_t phy = num_log; phy < num_phy; ++phy) {
    int64_t best = 0;  // the first expert with the largest load per replica
    float best_load = weight[0] / static_cast<float>(out.logcnt[0]);
    for (int64_t expert = 1; expert < num_log; ++expert) {
      const float load = weight[expert] / static_cast<float>(out.logcnt[expert]);
      if (load > best_load) {
        best = expert;
        best_load = load;
      }
    }
    out.phy2log[phy] = best;
    out.rank[phy] = out.logcnt[best]++;
  }
  return out;
}

Replication rebalance_layer_hierarchical(std::span<const float> weight, int64_t num_phy, int64_t num_groups,
                                         int64_t num_nodes, int64_t num_gpus) {
  const int64_t num_log = static_cast<int64_t>(weight.size());
  MOE_ASSERT(num_log % num_groups == 0 && num_groups % num_nodes == 0);
  MOE_ASSERT(num_gpus % num_nodes == 0 && num_phy % num_gpus == 0);
  const int64_t group_size = num_log / num_groups;
  const int64_t groups_per_node = num_groups / num_nodes;
  const int64_t phy_per_gpu = num_phy / num_gpus;
  const int64_t log_per_node = num_log / num_nodes;
  const int64_t phy_per_node = num_phy / num_nodes;

  // Step 1: groups to nodes. "mlog" numbers experts node by node: node n holds mlog
  // [n * log_per_node, (n + 1) * log_per_node), its groups in packing order.
  std::vector<float> group_load(num_groups, 0.0f);
  for (int64_t expert = 0; expert < num_log; ++expert) group_load[expert / group_size] += weight[expert];
  const Packing group_packing = balanced_packing(group_load, num_nodes);
  std::vector<int64_t> log2mlog(num_log);
  for (int64_t expert = 0; expert < num_log; ++expert) {
    const int64_t group = expert / group_size;
    log2mlog[expert] =
        (group_packing.pack_index[group] * groups_per_node + group_packing.rank_in_pack[group]) * group_size +
        expert % group_size;
  }
  const std::vector<int64_t> mlog2log = inverse(log2mlog);

  std::vector<int64_t> phy2log(num_phy), phy_rank(num_phy), mlogcnt(num_log);
  for (int64_t node = 0; node < num_nodes; ++node) {
    // Step 2: replicas within the node.
    std::vector<float> mlog_load(log_per_node);
    for (int64_t local = 0; local < log_per_node; ++local)
      mlog_load[local] = weight[mlog2log[node * log_per_node + local]];
    const Replication replication = replicate_experts(mlog_load, phy_per_node);
    for (int64_t local = 0; local < log_per_node; ++local)
      mlogcnt[node * log_per_node + local] = replication.logcnt[local];

    // Step 3: the node's replicas to its GPUs, each replica carrying its share of the load.
    std::vector<float> phy_load(phy_per_node);
    for (int64_t phy = 0; phy < phy_per_node; ++phy) {
      const int64_t local = replication.phy2log[phy];
      phy_load[phy] = mlog_load[local] / static_cast<float>(replication.logcnt[local]);
    }
    const Packing packing = balanced_packing(phy_load, num_gpus / num_nodes);
    std::vector<int64_t> phy2pphy(phy_per_node);
    for (int64_t phy = 0; phy < phy_per_node; ++phy)
      phy2pphy[phy] = packing.pack_index[phy] * phy_per_gpu + packing.rank_in_pack[phy];
    const std::vector<int64_t> pphy2phy = inverse(phy2pphy);
    for (int64_t pphy = 0; pphy < phy_per_node; ++pphy) {
      const int64_t phy = pphy2phy[pphy];
      phy2log[node * phy_per_node + pphy] = mlog2log[replication.phy2log[phy] + node * log_per_node];
      phy_rank[node * phy_per_node + pphy] = replication.rank[phy];
    }
  }
  Replication out;
  out.phy2log = std::move(phy2log);
  out.rank = std::move(phy_rank);
  out.logcnt.resize(num_log);
  for (int64_t expert = 0; expert < num_log; ++expert) out.logcnt[expert] = mlogcnt[log2mlog[expert]];
  return out;
}

Placement rebalance_experts(const LoadMatrix& load, const EplbConfig& config, EplbPolicy policy) {
  config.validate(load.n_experts, policy);
  const bool hierarchical = policy == EplbPolicy::kHierarchical;
  Placement placement;
  placement.num_slots = config.num_slots;
  placement.num_experts = load.n_experts;
  placement.ranks = config.ranks;
  for (int64_t layer_idx = 0; layer_idx < load.n_layers; ++layer_idx) {
    std::vector<float> weight(load.n_experts);  // eplb.py: weight.float()
    for (int64_t expert = 0; expert < load.n_experts; ++expert)
      weight[expert] = static_cast<float>(load.layer(layer_idx)[expert]);
    const Replication layout =
        rebalance_layer_hierarchical(weight, config.num_slots, hierarchical ? config.num_groups : 1,
                                     hierarchical ? config.num_nodes : 1, config.ranks);
    // log2phy in replica-rank order, as eplb.py scatters it.
    LayerPlacement layer;
    layer.phy2log = layout.phy2log;
    layer.logcnt = layout.logcnt;
    const int64_t width = *std::max_element(layout.logcnt.begin(), layout.logcnt.end());
    layer.log2phy.assign(load.n_experts, std::vector<int64_t>(width, -1));
    for (int64_t slot = 0; slot < config.num_slots; ++slot)
      layer.log2phy[layout.phy2log[slot]][layout.rank[slot]] = slot;
    placement.layers.push_back(std::move(layer));
  }
  pad_log2phy(placement);
  placement.validate("eplb");
  return placement;
}

}  // namespace moe::balance
