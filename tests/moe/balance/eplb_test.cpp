// DeepSeek's EPLB port: the README example of deepseek-ai/EPLB reproduced exactly, the steps on
// hand-checked cases, and invariants and quality on seeded random load matrices.
#include "moe/balance/eplb.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "core/error.h"

namespace moe::balance {
namespace {

LoadMatrix matrix(const std::vector<std::vector<double>>& rows) {
  LoadMatrix m;
  m.n_layers = static_cast<int64_t>(rows.size());
  m.n_experts = static_cast<int64_t>(rows[0].size());
  for (const auto& row : rows) m.values.insert(m.values.end(), row.begin(), row.end());
  return m;
}

// Seeded load matrices: uniform, or Zipf-like skew (a few hot experts), integer token counts.
LoadMatrix random_matrix(int64_t n_layers, int64_t n_experts, uint32_t seed, bool skewed) {
  std::mt19937 rng(seed);
  LoadMatrix m;
  m.n_layers = n_layers;
  m.n_experts = n_experts;
  for (int64_t layer = 0; layer < n_layers; ++layer) {
    std::vector<double> row(n_experts);
    for (int64_t expert = 0; expert < n_experts; ++expert)
      row[expert] = skewed ? std::floor(10000.0 / std::pow(expert + 1.0, 1.2) *
                                        std::uniform_real_distribution<double>(0.5, 1.5)(rng))
                           : std::floor(std::uniform_real_distribution<double>(0.0, 1000.0)(rng));
    std::shuffle(row.begin(), row.end(), rng);
    m.values.insert(m.values.end(), row.begin(), row.end());
  }
  return m;
}

// Lower bound on the max rank load of any placement with `slots` slots: the mean, and the
// heaviest replica of the best possible replica counts (greedy by load per replica is optimal
// for minimising the largest load per replica).
double max_load_lower_bound(std::span<const double> load, int64_t slots, int64_t ranks) {
  const double total = std::accumulate(load.begin(), load.end(), 0.0);
  std::vector<int64_t> count(load.size(), 1);
  for (int64_t extra = static_cast<int64_t>(load.size()); extra < slots; ++extra) {
    size_t best = 0;
    for (size_t e = 1; e < load.size(); ++e)
      if (load[e] / count[e] > load[best] / count[best]) best = e;
    ++count[best];
  }
  double heaviest = 0.0;
  for (size_t e = 0; e < load.size(); ++e) heaviest = std::max(heaviest, load[e] / count[e]);
  return std::max(total / ranks, heaviest);
}

double max_load(const Placement& p, int64_t layer, std::span<const double> load) {
  const std::vector<double> loads = rank_loads(p, layer, load);
  return *std::max_element(loads.begin(), loads.end());
}

TEST(Eplb, ReproducesTheReadmeExample) {
  // deepseek-ai/EPLB README: 2 layers x 12 experts, 16 replicas, 4 groups, 2 nodes, 8 GPUs.
  const LoadMatrix load = matrix(
      {{90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86}, {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}});
  EplbConfig config{.num_slots = 16, .num_groups = 4, .num_nodes = 2, .ranks = 8};
  ASSERT_EQ(default_policy(config), EplbPolicy::kHierarchical);
  const Placement p = rebalance_experts(load, config, EplbPolicy::kHierarchical);
  // The README's printed output.
  EXPECT_EQ(p.layers[0].phy2log, (std::vector<int64_t>{5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1}));
  EXPECT_EQ(p.layers[1].phy2log, (std::vector<int64_t>{7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}));
  // logcnt and log2phy as eplb.py returns them (replicas in replica-rank order, width 2).
  EXPECT_EQ(p.layers[0].logcnt, (std::vector<int64_t>{1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1}));
  EXPECT_EQ(p.layers[0].log2phy[5], (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(p.layers[0].log2phy[0], (std::vector<int64_t>{12, -1}));
  EXPECT_EQ(p.layers[1].logcnt, (std::vector<int64_t>{1, 2, 1, 1, 1, 2, 2, 1, 2, 1, 1, 1}));
  EXPECT_NO_THROW(p.validate());
}

TEST(Eplb, BalancedPackingTakesTheFirstLightestPack) {
  // Heaviest first: 9 -> pack 0 (both empty: the first), 7 -> pack 1 (0 < 9), 5 -> pack 1
  // (7 < 9; now full), 3 -> pack 0, the only one with room.
  const std::vector<float> weight{5, 9, 3, 7};
  const Packing packing = balanced_packing(weight, 2);
  EXPECT_EQ(packing.pack_index, (std::vector<int64_t>{1, 0, 0, 1}));
  EXPECT_EQ(packing.rank_in_pack, (std::vector<int64_t>{1, 0, 1, 0}));
  // Ties: equal weights keep index order, equal packs go to the lowest index.
  const Packing tied = balanced_packing(std::vector<float>{1, 1, 1, 1}, 2);
  EXPECT_EQ(tied.pack_index, (std::vector<int64_t>{0, 1, 0, 1}));
}

TEST(Eplb, ReplicateGivesExtraCopiesToTheHeaviestPerReplica) {
  const Replication r = replicate_experts(std::vector<float>{10, 30, 20}, 6);
  // 30 -> 2 copies (15 each), then 20 (> 15), then 15 vs 10 vs 15: the first, expert 1.
  EXPECT_EQ(r.phy2log, (std::vector<int64_t>{0, 1, 2, 1, 2, 1}));
  EXPECT_EQ(r.rank, (std::vector<int64_t>{0, 0, 0, 1, 1, 2}));
  EXPECT_EQ(r.logcnt, (std::vector<int64_t>{1, 3, 2}));
}

void expect_invariants(const Placement& p, const LoadMatrix& load, int64_t slots, int64_t ranks) {
  ASSERT_EQ(static_cast<int64_t>(p.layers.size()), load.n_layers);
  EXPECT_EQ(p.num_slots, slots);
  EXPECT_EQ(p.ranks, ranks);
  EXPECT_NO_THROW(p.validate());
  for (const LayerPlacement& layer : p.layers) {
    ASSERT_EQ(static_cast<int64_t>(layer.phy2log.size()), slots);
    EXPECT_EQ(std::accumulate(layer.logcnt.begin(), layer.logcnt.end(), int64_t{0}), slots);
    for (int64_t expert = 0; expert < load.n_experts; ++expert) {
      EXPECT_GE(layer.logcnt[expert], 1);
      for (int64_t replica = 0; replica < layer.logcnt[expert]; ++replica)
        EXPECT_EQ(layer.phy2log[layer.log2phy[expert][replica]], expert);
    }
  }
}

TEST(Eplb, InvariantsOnRandomMatrices) {
  struct Case {
    int64_t experts, slots, groups, nodes, ranks;
  };
  for (const Case& c : {Case{12, 16, 4, 2, 8}, Case{16, 16, 4, 2, 4}, Case{64, 72, 8, 1, 8}, Case{64, 80, 8, 2, 8},
                        Case{60, 64, 5, 2, 16}, Case{8, 9, 1, 1, 3}}) {
    for (bool skewed : {false, true}) {
      const LoadMatrix load = random_matrix(3, c.experts, static_cast<uint32_t>(c.slots * 7 + skewed), skewed);
      EplbConfig config{.num_slots = c.slots, .num_groups = c.groups, .num_nodes = c.nodes, .ranks = c.ranks};
      for (EplbPolicy policy : {EplbPolicy::kGlobal, default_policy(config)}) {
        SCOPED_TRACE(testing::Message() << c.experts << " experts, " << c.slots << " slots, policy "
                                        << static_cast<int>(policy));
        if (policy == EplbPolicy::kHierarchical && c.groups % c.nodes != 0) continue;
        expect_invariants(rebalance_experts(load, config, policy), load, c.slots, c.ranks);
      }
    }
  }
}

TEST(Eplb, NearTheLowerBoundOnSkewedLoads) {
  // 64 experts, 80 slots on 16 ranks (5 slots each), Zipf-like loads. Global is held to the bound
  // over all ranks; hierarchical, which keeps each group's experts on one node, to the bound of
  // each node given the experts it was packed (its groups-to-nodes step is what the README
  // example checks). Measured on these seeds: global within 5% of its bound; hierarchical within
  // 22% of its nodes' bound (packing 40 replicas of very unequal load 5 to a rank, heaviest first,
  // is where it loses); the identity placement 3 to 7 times the bound. The margins leave room for
  // a changed tie-break, not for a changed algorithm.
  const LoadMatrix load = random_matrix(8, 64, 11, true);
  EplbConfig config{.num_slots = 80, .num_groups = 8, .num_nodes = 2, .ranks = 16};
  const Placement global = rebalance_experts(load, config, EplbPolicy::kGlobal);
  const Placement hier = rebalance_experts(load, config, EplbPolicy::kHierarchical);
  const Placement identity = identity_placement(load.n_layers, 64, 80, 16);
  for (int64_t layer = 0; layer < load.n_layers; ++layer) {
    const std::span<const double> weight = load.layer(layer);
    const double bound = max_load_lower_bound(weight, 80, 16);
    double node_bound = 0.0;
    for (int64_t node = 0; node < 2; ++node) {
      std::vector<double> node_load;  // the experts whose slots lie on this node's 8 ranks
      for (int64_t expert = 0; expert < 64; ++expert)
        if (hier.layers[layer].log2phy[expert][0] / 40 == node) node_load.push_back(weight[expert]);
      ASSERT_EQ(node_load.size(), 32u);  // whole groups of 8 experts, 4 per node
      node_bound = std::max(node_bound, max_load_lower_bound(node_load, 40, 8));
    }
    SCOPED_TRACE(testing::Message() << "layer " << layer);
    EXPECT_LE(max_load(global, layer, weight), 1.08 * bound);
    EXPECT_LE(max_load(hier, layer, weight), 1.25 * node_bound);
    EXPECT_GE(node_bound, bound);
    EXPECT_GE(max_load(identity, layer, weight), 2.0 * bound);
  }
}

TEST(Eplb, ConfigErrorsNameTheOption) {
  const LoadMatrix load = random_matrix(1, 12, 1, false);
  auto message = [&](EplbConfig config, EplbPolicy policy) -> std::string {
    try {
      rebalance_experts(load, config, policy);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message({.num_slots = 8, .ranks = 4}, EplbPolicy::kGlobal),
            "--slots: 8 slots is fewer than the 12 experts");
  EXPECT_EQ(message({.num_slots = 14, .ranks = 4}, EplbPolicy::kGlobal),
            "--slots: 14 slots do not divide evenly over --ranks 4");
  EXPECT_EQ(message({.num_slots = 16, .num_nodes = 3, .ranks = 8}, EplbPolicy::kGlobal),
            "--nodes: 3 nodes do not divide --ranks 8");
  EXPECT_EQ(message({.num_slots = 16, .num_groups = 5, .ranks = 8}, EplbPolicy::kHierarchical),
            "--groups: 5 groups do not divide the 12 experts");
  EXPECT_EQ(message({.num_slots = 16, .num_groups = 3, .num_nodes = 2, .ranks = 8}, EplbPolicy::kHierarchical),
            "--groups: the hierarchical policy needs --nodes (2) to divide --groups (3)");
  EXPECT_EQ(message({.num_slots = 16, .ranks = 0}, EplbPolicy::kGlobal), "--ranks: must be >= 1, got 0");
  EXPECT_EQ(message({.num_slots = 16, .num_nodes = 0, .ranks = 8}, EplbPolicy::kGlobal),
            "--nodes: must be >= 1, got 0");
  EXPECT_EQ(message({.num_slots = 16, .num_groups = 0, .ranks = 8}, EplbPolicy::kGlobal),
            "--groups: must be >= 1, got 0");
  const LoadMatrix empty{.n_layers = 1, .n_experts = 0, .values = {}};
  EXPECT_THROW(
      {
        try {
          rebalance_experts(empty, {.num_slots = 4, .ranks = 2}, EplbPolicy::kGlobal);
        } catch (const ConfigError& e) {
          EXPECT_STREQ(e.what(), "eplb: need at least one expert");
          throw;
        }
      },
      ConfigError);
}

}  // namespace
}  // namespace moe::balance
