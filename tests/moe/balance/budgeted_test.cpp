// The budgeted balancer: never copies more than the budget, ends no worse with a larger budget,
// and with no budget limit comes within a few percent of a full EPLB re-plan.
#include "moe/balance/budgeted.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/error.h"
#include "moe/balance/eplb.h"

namespace moe::balance {
namespace {

// Seeded Zipf-like loads (a few hot experts), shuffled so that hot experts share ranks.
LoadMatrix skewed_matrix(int64_t n_layers, int64_t n_experts, uint32_t seed) {
  std::mt19937 rng(seed);
  LoadMatrix m;
  m.n_layers = n_layers;
  m.n_experts = n_experts;
  for (int64_t layer = 0; layer < n_layers; ++layer) {
    std::vector<double> row(n_experts);
    for (int64_t expert = 0; expert < n_experts; ++expert)
      row[expert] =
          std::floor(10000.0 / std::pow(expert + 1.0, 1.0) * std::uniform_real_distribution<double>(0.5, 1.5)(rng));
    std::shuffle(row.begin(), row.end(), rng);
    m.values.insert(m.values.end(), row.begin(), row.end());
  }
  return m;
}

double ratio(const Placement& p, const LoadMatrix& load, int64_t layer) {
  return max_mean_ratio(rank_loads(p, layer, load.layer(layer)));
}

constexpr int64_t kExpertBytes = 3 * 64 * 128 * 2;  // hidden 64, expert ffn 128, bf16

BudgetedConfig config(int64_t expert_bytes, std::optional<int64_t> max_move_bytes = std::nullopt,
                      int64_t max_steps = 0) {
  BudgetedConfig c;
  c.expert_bytes = expert_bytes;
  c.max_move_bytes = max_move_bytes;
  c.max_steps = max_steps;
  return c;
}

TEST(Budgeted, ExpertWeightBytes) {
  EXPECT_EQ(expert_weight_bytes(4096, 14336, 2.0), int64_t{3} * 4096 * 14336 * 2);  // Mixtral bf16
  EXPECT_EQ(expert_weight_bytes(64, 128, 1.0625), 26112);                           // q8_0: 34 bytes per 32 weights
}

TEST(Budgeted, NeverExceedsTheBudgetAndImprovesWithIt) {
  struct Case {
    int64_t experts, slots, ranks;
  };
  for (const Case& c : {Case{16, 16, 4}, Case{16, 20, 4}, Case{32, 40, 8}, Case{64, 72, 8}}) {
    const LoadMatrix load = skewed_matrix(3, c.experts, static_cast<uint32_t>(c.slots + c.ranks));
    const Placement current = identity_placement(3, c.experts, c.slots, c.ranks);
    std::vector<double> previous(3, 1e300);
    for (int64_t budget : {int64_t{0}, kExpertBytes - 1, kExpertBytes, 2 * kExpertBytes + 7, 3 * kExpertBytes,
                           5 * kExpertBytes, 8 * kExpertBytes, 13 * kExpertBytes, 40 * kExpertBytes}) {
      SCOPED_TRACE(testing::Message() << c.experts << " experts, " << c.slots << " slots, " << c.ranks
                                      << " ranks, budget " << budget);
      const BudgetedResult result = rebalance_budgeted(load, current, config(kExpertBytes, budget));
      EXPECT_NO_THROW(result.placement.validate());
      for (int64_t layer = 0; layer < 3; ++layer) {
        EXPECT_LE(result.bytes_moved[layer], budget);
        EXPECT_EQ(result.bytes_moved[layer],
                  changed_slots(current.layers[layer], result.placement.layers[layer]) * kExpertBytes);
        const double after = ratio(result.placement, load, layer);
        EXPECT_LE(after, ratio(current, load, layer) + 1e-12);
        EXPECT_LE(after, previous[layer] + 1e-12);  // a larger budget never ends worse
        previous[layer] = after;
      }
      if (budget < kExpertBytes) {
        EXPECT_EQ(result.placement.layers[0].phy2log, current.layers[0].phy2log);
      }
    }
  }
}

TEST(Budgeted, UnlimitedBudgetNearAFullReplan) {
  // From the identity placement (max/mean 1.7 to 5) with no budget limit, the greedy repair ends
  // at 0.976 to 1.064 times the max/mean of DeepSeek's global re-plan on these seeds (11 of the
  // 12 layers within 2.1%); 8% leaves room for a changed tie-break, not for a weaker search.
  struct Case {
    int64_t experts, slots, ranks;
  };
  for (const Case& c : {Case{16, 20, 4}, Case{32, 40, 8}, Case{64, 80, 16}}) {
    const LoadMatrix load = skewed_matrix(4, c.experts, static_cast<uint32_t>(3 * c.slots));
    const Placement current = identity_placement(4, c.experts, c.slots, c.ranks);
    const BudgetedResult result = rebalance_budgeted(load, current, config(kExpertBytes));
    const Placement replan = rebalance_experts(load, {.num_slots = c.slots, .ranks = c.ranks}, EplbPolicy::kGlobal);
    for (int64_t layer = 0; layer < 4; ++layer) {
      SCOPED_TRACE(testing::Message() << c.experts << " experts, layer " << layer);
      const double after = ratio(result.placement, load, layer), full = ratio(replan, load, layer);
      EXPECT_LE(after, 1.08 * full) << "before " << ratio(current, load, layer);
    }
  }
}

TEST(Budgeted, StartsFromTheCurrentPlacement) {
  // Starting from an EPLB re-plan, the repair never ends worse than where it started.
  const LoadMatrix load = skewed_matrix(2, 16, 5);
  const Placement balanced = rebalance_experts(load, {.num_slots = 20, .ranks = 4}, EplbPolicy::kGlobal);
  const BudgetedResult again = rebalance_budgeted(load, balanced, config(kExpertBytes));
  for (int64_t layer = 0; layer < 2; ++layer)
    EXPECT_LE(ratio(again.placement, load, layer), ratio(balanced, load, layer) + 1e-12);
}

TEST(Budgeted, Errors) {
  const LoadMatrix load = skewed_matrix(2, 16, 5);
  const Placement current = identity_placement(2, 16, 20, 4);
  auto message = [&](const Placement& p, const BudgetedConfig& c) -> std::string {
    try {
      rebalance_budgeted(load, p, c);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message(current, config(0)), "--expert-bytes: must be > 0 for the budgeted policy, got 0");
  EXPECT_EQ(message(current, config(10, -1)), "--max-move-bytes: must be >= 0, got -1");
  EXPECT_EQ(message(current, config(10, std::nullopt, -1)), "budgeted: max_steps must be >= 0, got -1");
  EXPECT_EQ(message(identity_placement(2, 12, 20, 4), config(10)),
            "--current: placement has 12 experts, the statistics 16");
  EXPECT_EQ(message(identity_placement(3, 16, 20, 4), config(10)),
            "--current: placement has 3 layers, the statistics 2");
  Placement broken = current;
  broken.layers[1].logcnt[0] = 7;
  EXPECT_EQ(message(broken, config(10)), "--current: layer 1: expert 0: logcnt says 7 replicas but phy2log gives it 2");
}

}  // namespace
}  // namespace moe::balance
