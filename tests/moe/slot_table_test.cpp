// SlotTable: expert -> slots from a placement, the replica choice (hand-checked), placement round
// trips, and the starting placement of `moe_load_balancer:` with its one-line errors.
#include "moe/slot_table.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "moe/balance/slot_placement.h"

namespace moe {
namespace {

// 8 slots on 2 ranks (4 each) for 5 experts: expert 0 on both ranks (slots 0, 1, 6), expert 3
// twice on rank 1 (slots 4, 5).
const std::vector<int64_t> kPhy2log = {0, 0, 1, 2, 3, 3, 0, 4};

parallel::MoeLoadBalancerConfig slots(int num_slots, std::vector<std::vector<int64_t>> assignments = {}) {
  parallel::MoeLoadBalancerConfig config;
  config.num_slots = num_slots;
  config.initial_global_assignments = std::move(assignments);
  return config;
}

TEST(SlotTable, ListsEachExpertsSlotsAscending) {
  const SlotTable table(balance::layer_from_phy2log(kPhy2log, 5), 4);
  EXPECT_EQ(table.n_slots(), 8);
  EXPECT_EQ(table.slots(0), (std::vector<int64_t>{0, 1, 6}));
  EXPECT_EQ(table.slots(3), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(table.slots(4), (std::vector<int64_t>{7}));
  EXPECT_EQ(table.rank_experts(0), (std::vector<int64_t>{0, 0, 1, 2}));
  EXPECT_EQ(table.rank_experts(1), (std::vector<int64_t>{3, 3, 0, 4}));
}

TEST(SlotTable, PrefersTheSendersOwnReplicaElseSpreadsByTokenIndex) {
  const SlotTable table(balance::layer_from_phy2log(kPhy2log, 5), 4);
  // Expert 0 from rank 0: its two local slots alternate; from rank 1: the one local slot.
  EXPECT_EQ(table.slot_for(0, 0, 0), 0);
  EXPECT_EQ(table.slot_for(0, 0, 1), 1);
  EXPECT_EQ(table.slot_for(0, 0, 2), 0);
  EXPECT_EQ(table.slot_for(0, 1, 0), 6);
  EXPECT_EQ(table.slot_for(0, 1, 5), 6);
  // Expert 3 lives only on rank 1: rank 0's tokens alternate over slots 4 and 5.
  EXPECT_EQ(table.slot_for(3, 0, 0), 4);
  EXPECT_EQ(table.slot_for(3, 0, 1), 5);
  EXPECT_EQ(table.slot_for(3, 0, 7), 5);
  EXPECT_EQ(table.slot_for(2, 1, 3), 3);  // one slot: always it
}

TEST(SlotTable, SpreadIgnoresTheSendersRank) {
  SlotTable table(balance::layer_from_phy2log(kPhy2log, 5), 4, false);
  EXPECT_EQ(table.slot_for(0, 0, 0), 0);
  EXPECT_EQ(table.slot_for(0, 0, 2), 6);
  EXPECT_EQ(table.slot_for(0, 1, 1), 1);
  EXPECT_EQ(table.slot_for(3, 1, 3), 5);
  table.assign(balance::layer_from_phy2log({4, 4, 3, 2, 1, 0, 4, 4}, 5));  // keeps the rule
  EXPECT_EQ(table.slot_for(4, 0, 2), 6);
  EXPECT_EQ(table.slots(0), (std::vector<int64_t>{5}));
}

TEST(SlotTable, MapsARoutingKeepingWeightsAndKOrder) {
  const SlotTable table(balance::layer_from_phy2log(kPhy2log, 5), 4);
  Routing routing;
  routing.n_tokens = 3;
  routing.top_k = 2;
  routing.expert_ids = {3, 0, 0, 4, 3, 2};
  routing.weights = {0.6f, 0.4f, 0.7f, 0.3f, 0.9f, 0.1f};
  Routing mapped;
  table.to_slots(routing, 0, mapped);
  EXPECT_EQ(mapped.expert_ids, (std::vector<int32_t>{4, 0, 1, 7, 4, 3}));
  EXPECT_EQ(mapped.weights, routing.weights);
  EXPECT_EQ(mapped.n_tokens, 3);
  EXPECT_EQ(mapped.top_k, 2);
}

TEST(SlotTable, RoundTripsThroughPlacementTables) {
  balance::Placement placement = balance::slot_placement(slots(8, {kPhy2log, {4, 3, 2, 1, 0, 4, 4, 4}}), 2, 5, 2);
  for (const balance::LayerPlacement& layer : placement.layers) {
    const balance::LayerPlacement back = SlotTable(layer, placement.slots_per_rank()).placement();
    EXPECT_EQ(back.phy2log, layer.phy2log);
    EXPECT_EQ(back.logcnt, layer.logcnt);
    const SlotTable again(back, placement.slots_per_rank());
    for (int64_t expert = 0; expert < 5; ++expert) {
      std::vector<int64_t> listed;
      for (int64_t slot : layer.log2phy[expert])
        if (slot >= 0) listed.push_back(slot);
      std::sort(listed.begin(), listed.end());
      EXPECT_EQ(again.slots(expert), listed) << "expert " << expert;
    }
  }
  EXPECT_EQ(placement.layers[1].logcnt, (std::vector<int64_t>{1, 1, 1, 1, 4}));
}

std::string error_of(const parallel::MoeLoadBalancerConfig& config, int64_t layers, int64_t experts, int ep) {
  try {
    balance::slot_placement(config, layers, experts, ep);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SlotPlacement, DefaultsToSlotModuloExperts) {
  const balance::Placement p = balance::slot_placement(slots(6), 2, 4, 2);
  EXPECT_EQ(p.layers[1].phy2log, (std::vector<int64_t>{0, 1, 2, 3, 0, 1}));
  EXPECT_EQ(p.ranks, 2);
}

TEST(SlotPlacement, RejectsWhatCannotServeTheModel) {
  EXPECT_EQ(error_of(slots(6), 2, 8, 2), "moe_load_balancer.num_slots = 6 is less than num_experts = 8");
  EXPECT_EQ(error_of(slots(10), 2, 8, 4),
            "moe_load_balancer.num_slots = 10 is not divisible by moe_expert_parallel_size = 4");
  EXPECT_EQ(error_of(slots(4, {{0, 1, 2, 0}}), 2, 4, 2),
            "moe_load_balancer.initial_global_assignments has 1 layers but the model has 2 MoE layers");
  EXPECT_EQ(error_of(slots(4, {{0, 1, 2, 0}}), 1, 4, 2),
            "moe_load_balancer.initial_global_assignments: layer 0: expert 3 has no slot");
  EXPECT_EQ(error_of(slots(4, {{0, 1, 2}}), 1, 3, 2),
            "moe_load_balancer.initial_global_assignments: layer 0 lists 3 slots, expected num_slots = 4");
  EXPECT_EQ(error_of(slots(4, {{0, 1, 2, 9}}), 1, 4, 2),
            "moe_load_balancer.initial_global_assignments: layer 0: slot 3 holds expert 9, outside [0, 4)");
}

}  // namespace
}  // namespace moe
