// Mapping: hand-written tables for a few layouts (including TensorRT-LLM's mapping.py docstring
// examples), structural invariants over every layout of 1..16 ranks, and each error message.
#include "parallel/mapping.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/error.h"

namespace moe::parallel {
namespace {

using Group = std::vector<int>;

struct Expected {
  int rank, tp_rank, pp_rank, dp_rank, moe_tp_rank, moe_ep_rank;
  Group tp_group, pp_group, dp_group, moe_tp_group, moe_ep_group;
};

void expect_table(const ParallelConfig& config, int world_size, const std::vector<Expected>& table) {
  ASSERT_EQ(static_cast<int>(table.size()), world_size);
  for (const Expected& e : table) {
    SCOPED_TRACE(::testing::Message() << "rank " << e.rank);
    const Mapping m = make_mapping(config, world_size, e.rank);
    EXPECT_EQ(m.rank, e.rank);
    EXPECT_EQ(m.tp_rank, e.tp_rank);
    EXPECT_EQ(m.pp_rank, e.pp_rank);
    EXPECT_EQ(m.dp_rank, e.dp_rank);
    EXPECT_EQ(m.moe_tp_rank, e.moe_tp_rank);
    EXPECT_EQ(m.moe_ep_rank, e.moe_ep_rank);
    EXPECT_EQ(m.tp_group, e.tp_group);
    EXPECT_EQ(m.pp_group, e.pp_group);
    EXPECT_EQ(m.dp_group, e.dp_group);
    EXPECT_EQ(m.moe_tp_group, e.moe_tp_group);
    EXPECT_EQ(m.moe_ep_group, e.moe_ep_group);
  }
}

std::string error_of(const ParallelConfig& config, int world_size, int rank = 0) {
  try {
    make_mapping(config, world_size, rank);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

TEST(Mapping, World8Tp4Pp2Etp2Ep2ByHand) {
  ParallelConfig c;
  c.tensor_parallel_size = 4;
  c.pipeline_parallel_size = 2;
  c.moe_tensor_parallel_size = 2;
  c.moe_expert_parallel_size = 2;
  //  rank tp pp dp mtp mep   tp group      pp group  dp   moe_tp  moe_ep
  expect_table(c, 8,
               {{0, 0, 0, 0, 0, 0, {0, 1, 2, 3}, {0, 4}, {0}, {0, 2}, {0, 1}},
                {1, 1, 0, 0, 0, 1, {0, 1, 2, 3}, {1, 5}, {1}, {1, 3}, {0, 1}},
                {2, 2, 0, 0, 1, 0, {0, 1, 2, 3}, {2, 6}, {2}, {0, 2}, {2, 3}},
                {3, 3, 0, 0, 1, 1, {0, 1, 2, 3}, {3, 7}, {3}, {1, 3}, {2, 3}},
                {4, 0, 1, 0, 0, 0, {4, 5, 6, 7}, {0, 4}, {4}, {4, 6}, {4, 5}},
                {5, 1, 1, 0, 0, 1, {4, 5, 6, 7}, {1, 5}, {5}, {5, 7}, {4, 5}},
                {6, 2, 1, 0, 1, 0, {4, 5, 6, 7}, {2, 6}, {6}, {4, 6}, {6, 7}},
                {7, 3, 1, 0, 1, 1, {4, 5, 6, 7}, {3, 7}, {7}, {5, 7}, {6, 7}}});
}

TEST(Mapping, World8Tp2Pp2Dp2ByHand) {
  ParallelConfig c;  // moe sizes unset: moe_tp = tp, moe_ep = 1; dp from the world
  c.tensor_parallel_size = 2;
  c.pipeline_parallel_size = 2;
  expect_table(c, 8,
               {{0, 0, 0, 0, 0, 0, {0, 1}, {0, 2}, {0, 4}, {0, 1}, {0}},
                {1, 1, 0, 0, 1, 0, {0, 1}, {1, 3}, {1, 5}, {0, 1}, {1}},
                {2, 0, 1, 0, 0, 0, {2, 3}, {0, 2}, {2, 6}, {2, 3}, {2}},
                {3, 1, 1, 0, 1, 0, {2, 3}, {1, 3}, {3, 7}, {2, 3}, {3}},
                {4, 0, 0, 1, 0, 0, {4, 5}, {4, 6}, {0, 4}, {4, 5}, {4}},
                {5, 1, 0, 1, 1, 0, {4, 5}, {5, 7}, {1, 5}, {4, 5}, {5}},
                {6, 0, 1, 1, 0, 0, {6, 7}, {4, 6}, {2, 6}, {6, 7}, {6}},
                {7, 1, 1, 1, 1, 0, {6, 7}, {5, 7}, {3, 7}, {6, 7}, {7}}});
}

TEST(Mapping, World4Tp4Ep4ByHand) {
  ParallelConfig c;  // moe_tp unset: tp / moe_ep = 1
  c.tensor_parallel_size = 4;
  c.moe_expert_parallel_size = 4;
  expect_table(c, 4,
               {{0, 0, 0, 0, 0, 0, {0, 1, 2, 3}, {0}, {0}, {0}, {0, 1, 2, 3}},
                {1, 1, 0, 0, 0, 1, {0, 1, 2, 3}, {1}, {1}, {1}, {0, 1, 2, 3}},
                {2, 2, 0, 0, 0, 2, {0, 1, 2, 3}, {2}, {2}, {2}, {0, 1, 2, 3}},
                {3, 3, 0, 0, 0, 3, {0, 1, 2, 3}, {3}, {3}, {3}, {0, 1, 2, 3}}});
}

// The group lists of TensorRT-LLM's mapping.py docstring: "2 nodes with 16 GPUs, moe_tp_size =
// 2, moe_ep_size = 4, pp_size = 2" (so tp_size = 8).
TEST(Mapping, MatchesTensorRtLlmDocstring16Gpus) {
  const std::vector<Group> moe_tp_groups = {{0, 4}, {1, 5}, {2, 6}, {3, 7}, {8, 12}, {9, 13}, {10, 14}, {11, 15}};
  const std::vector<Group> moe_ep_groups = {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}, {12, 13, 14, 15}};
  const std::vector<Group> pp_groups = {{0, 8}, {1, 9}, {2, 10}, {3, 11}, {4, 12}, {5, 13}, {6, 14}, {7, 15}};
  ParallelConfig c;
  c.tensor_parallel_size = 8;
  c.pipeline_parallel_size = 2;
  c.moe_tensor_parallel_size = 2;
  c.moe_expert_parallel_size = 4;
  auto containing = [](const std::vector<Group>& groups, int rank) {
    for (const Group& g : groups) {
      if (std::find(g.begin(), g.end(), rank) != g.end()) return g;
    }
    return Group{};
  };
  for (int rank = 0; rank < 16; ++rank) {
    const Mapping m = make_mapping(c, 16, rank);
    EXPECT_EQ(m.moe_tp_group, containing(moe_tp_groups, rank)) << rank;
    EXPECT_EQ(m.moe_ep_group, containing(moe_ep_groups, rank)) << rank;
    EXPECT_EQ(m.pp_group, containing(pp_groups, rank)) << rank;
    EXPECT_EQ(m.tp_group, rank < 8 ? Group({0, 1, 2, 3, 4, 5, 6, 7}) : Group({8, 9, 10, 11, 12, 13, 14, 15}));
  }
}

// One layout at one world size: every rank's mapping, checked for structure.
void check_layout(const ParallelConfig& c, int world_size, int tp, int pp, int dp, int moe_tp, int moe_ep) {
  std::vector<Mapping> all;
  for (int rank = 0; rank < world_size; ++rank) all.push_back(make_mapping(c, world_size, rank));
  using GroupOf = const Group& (*)(const Mapping&);
  struct Kind {
    const char* name;
    GroupOf group;
    int size;
    int (*coordinate)(const Mapping&);
  };
  const Kind kinds[] = {
      {"tp", [](const Mapping& m) -> const Group& { return m.tp_group; }, tp,
       [](const Mapping& m) { return m.tp_rank; }},
      {"pp", [](const Mapping& m) -> const Group& { return m.pp_group; }, pp,
       [](const Mapping& m) { return m.pp_rank; }},
      {"dp", [](const Mapping& m) -> const Group& { return m.dp_group; }, dp,
       [](const Mapping& m) { return m.dp_rank; }},
      {"moe_tp", [](const Mapping& m) -> const Group& { return m.moe_tp_group; }, moe_tp,
       [](const Mapping& m) { return m.moe_tp_rank; }},
      {"moe_ep", [](const Mapping& m) -> const Group& { return m.moe_ep_group; }, moe_ep,
       [](const Mapping& m) { return m.moe_ep_rank; }},
  };
  for (const Mapping& m : all) {
    ASSERT_EQ(m.tp, tp);
    ASSERT_EQ(m.pp, pp);
    ASSERT_EQ(m.dp, dp);
    ASSERT_EQ(m.moe_tp, moe_tp);
    ASSERT_EQ(m.moe_ep, moe_ep);
    ASSERT_EQ(m.attention_tp(), c.enable_attention_dp ? 1 : tp);
    // TensorRT-LLM's order with dp outermost.
    ASSERT_EQ(m.rank, m.dp_rank * pp * tp + m.pp_rank * tp + m.tp_rank);
    ASSERT_EQ(m.moe_ep_rank, m.tp_rank % moe_ep);
    ASSERT_EQ(m.moe_tp_rank, m.tp_rank / moe_ep);
    ASSERT_TRUE(m.tp_rank < tp && m.pp_rank < pp && m.dp_rank < dp);
  }
  for (const Kind& kind : kinds) {
    SCOPED_TRACE(kind.name);
    std::map<Group, int> seen;  // group -> members that named it
    for (const Mapping& m : all) {
      const Group& group = kind.group(m);
      ASSERT_EQ(static_cast<int>(group.size()), kind.size);
      // Position i holds the member whose coordinate is i; this rank sits at its coordinate.
      ASSERT_EQ(group[kind.coordinate(m)], m.rank);
      for (int pos = 0; pos < kind.size; ++pos) {
        const Mapping& member = all.at(group[pos]);
        ASSERT_EQ(kind.coordinate(member), pos);
        ASSERT_EQ(kind.group(member), group);  // every member names the same group
      }
      ++seen[group];
    }
    // The groups partition the world: world / size distinct groups, each named by all members.
    ASSERT_EQ(static_cast<int>(seen.size()), world_size / kind.size);
    for (const auto& [group, count] : seen) ASSERT_EQ(count, kind.size);
  }
  for (const Mapping& m : all) {
    // Members share the coordinates the group does not span.
    for (int r : m.tp_group) ASSERT_TRUE(all[r].pp_rank == m.pp_rank && all[r].dp_rank == m.dp_rank);
    for (int r : m.pp_group) ASSERT_TRUE(all[r].tp_rank == m.tp_rank && all[r].dp_rank == m.dp_rank);
    for (int r : m.dp_group) ASSERT_TRUE(all[r].tp_rank == m.tp_rank && all[r].pp_rank == m.pp_rank);
    for (int r : m.moe_ep_group) {
      ASSERT_TRUE(all[r].moe_tp_rank == m.moe_tp_rank && all[r].tp_group == m.tp_group);
    }
    for (int r : m.moe_tp_group) {
      ASSERT_TRUE(all[r].moe_ep_rank == m.moe_ep_rank && all[r].tp_group == m.tp_group);
    }
  }
}

TEST(Mapping, EveryLayoutOfUpTo16RanksIsConsistent) {
  int layouts = 0;
  for (int world_size = 1; world_size <= 16; ++world_size) {
    for (int tp = 1; tp <= world_size; ++tp) {
      if (world_size % tp) continue;
      for (int pp = 1; pp <= world_size / tp; ++pp) {
        if ((world_size / tp) % pp) continue;
        const int dp = world_size / (tp * pp);
        for (int moe_ep = 1; moe_ep <= tp; ++moe_ep) {
          if (tp % moe_ep) continue;
          const int moe_tp = tp / moe_ep;
          // Ways to ask for this split: both MoE sizes, either one, or neither (only moe_ep = 1).
          for (int spec = 0; spec < 4; ++spec) {
            if (spec == 3 && moe_ep != 1) continue;
            for (bool dp_set : {false, true}) {
              for (bool attention_dp : {false, true}) {
                ParallelConfig c;
                c.tensor_parallel_size = tp;
                c.pipeline_parallel_size = pp;
                if (dp_set) c.data_parallel_size = dp;
                if (spec == 0 || spec == 1) c.moe_expert_parallel_size = moe_ep;
                if (spec == 0 || spec == 2) c.moe_tensor_parallel_size = moe_tp;
                c.enable_attention_dp = attention_dp;
                SCOPED_TRACE(::testing::Message()
                             << "world " << world_size << " tp " << tp << " pp " << pp << " dp " << dp << " moe_tp "
                             << moe_tp << " moe_ep " << moe_ep << " spec " << spec << " attention_dp " << attention_dp);
                check_layout(c, world_size, tp, pp, dp, moe_tp, moe_ep);
                if (::testing::Test::HasFatalFailure()) return;
                ++layouts;
              }
            }
          }
        }
      }
    }
  }
  // sum over world, tp, pp, moe_ep of (3 specs, 4 when moe_ep = 1) x dp set/unset x attention DP
  EXPECT_EQ(layouts, 2888);
}

TEST(Mapping, DefaultsAreOneProcessPerReplica) {
  const Mapping m = make_mapping(ParallelConfig{}, 3, 2);
  EXPECT_EQ(m.tp, 1);
  EXPECT_EQ(m.pp, 1);
  EXPECT_EQ(m.dp, 3);
  EXPECT_EQ(m.moe_tp, 1);
  EXPECT_EQ(m.moe_ep, 1);
  EXPECT_EQ(m.dp_rank, 2);
  EXPECT_EQ(m.dp_group, (Group{0, 1, 2}));
}

TEST(Mapping, ErrorsNameTheKeysAndBothValues) {
  ParallelConfig c;
  c.tensor_parallel_size = 2;
  c.moe_tensor_parallel_size = 2;
  c.moe_expert_parallel_size = 2;
  const std::string hint =
      " (the MoE ranks are the tensor-parallel ranks: set tensor_parallel_size = "
      "moe_tensor_parallel_size * moe_expert_parallel_size)";
  EXPECT_EQ(error_of(c, 2),
            "moe_tensor_parallel_size * moe_expert_parallel_size = 4 but tensor_parallel_size = 2" + hint);

  c = {};
  c.tensor_parallel_size = 4;
  c.moe_expert_parallel_size = 3;
  EXPECT_EQ(error_of(c, 4), "moe_expert_parallel_size = 3 does not divide tensor_parallel_size = 4" + hint);
  c = {};
  c.moe_tensor_parallel_size = 2;  // tp unset: 1
  EXPECT_EQ(error_of(c, 2), "moe_tensor_parallel_size = 2 does not divide tensor_parallel_size = 1" + hint);

  c = {};
  c.tensor_parallel_size = 2;
  c.data_parallel_size = 2;
  EXPECT_EQ(error_of(c, 2),
            "data_parallel_size * pipeline_parallel_size * tensor_parallel_size = 2 * 1 * 2 = 4 "
            "but the world has 2 ranks");
  c = {};
  c.tensor_parallel_size = 2;
  c.pipeline_parallel_size = 2;
  EXPECT_EQ(error_of(c, 6),
            "pipeline_parallel_size * tensor_parallel_size = 2 * 2 = 4 does not divide the world "
            "size 6");
  c = {};
  EXPECT_EQ(error_of(c, 2, 2), "rank 2 is outside a world of 2 ranks");
  c.pipeline_parallel_size = 0;
  EXPECT_EQ(error_of(c, 2), "pipeline_parallel_size must be >= 1, got 0");
}

ModelShape mixtral_like() {
  return {.n_layers = 4,
          .n_heads = 8,
          .n_kv_heads = 2,
          .n_experts = 8,
          .expert_ffn = 256,
          .shared_expert_ffn = 0,
          .hidden = 128};
}

std::string fit_error(const ParallelConfig& c, int world_size, const ModelShape& shape) {
  try {
    check_model_fits(make_mapping(c, world_size, 0), shape);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

TEST(Mapping, ModelFitsOrSaysWhy) {
  ParallelConfig c;
  c.tensor_parallel_size = 4;
  c.moe_expert_parallel_size = 4;
  EXPECT_EQ(fit_error(c, 4, mixtral_like()), "(no ConfigError)");  // 2 KV heads, replicated x2

  ModelShape shape = mixtral_like();
  c = {};
  c.pipeline_parallel_size = 8;
  EXPECT_EQ(fit_error(c, 8, shape), "pipeline_parallel_size = 8 exceeds num_hidden_layers = 4");

  c = {};
  c.tensor_parallel_size = 3;
  c.moe_expert_parallel_size = 3;
  EXPECT_EQ(fit_error(c, 3, shape), "tensor_parallel_size = 3 does not divide num_attention_heads = 8");
  c.enable_attention_dp = true;  // attention replicated: heads need not divide
  EXPECT_EQ(fit_error(c, 3, shape), "moe_expert_parallel_size = 3 does not divide num_experts = 8");

  c = {};
  c.tensor_parallel_size = 4;
  c.moe_expert_parallel_size = 4;
  shape.n_kv_heads = 3;
  shape.n_heads = 12;
  EXPECT_EQ(fit_error(c, 4, shape),
            "num_key_value_heads = 3 does not divide tensor_parallel_size = 4 (KV heads are "
            "replicated when there are fewer than the ranks)");
  shape.n_kv_heads = 6;
  shape.n_heads = 24;
  c.tensor_parallel_size = 4;
  EXPECT_EQ(fit_error(c, 4, shape), "tensor_parallel_size = 4 does not divide num_key_value_heads = 6");

  shape = mixtral_like();
  c = {};
  c.tensor_parallel_size = 2;  // moe_tp = 2 by default
  shape.expert_ffn = 96;       // 48 per rank: divisible, but not whole q8_0 blocks
  EXPECT_EQ(fit_error(c, 2, shape),
            "moe_tensor_parallel_size = 2 slices moe_intermediate_size = 96 into 48 columns per "
            "rank, not a whole number of 32-element quantization blocks");
  shape.quant_block = 1;  // f32 weights: any split works
  EXPECT_EQ(fit_error(c, 2, shape), "(no ConfigError)");
  shape.expert_ffn = 97;
  EXPECT_EQ(fit_error(c, 2, shape), "moe_tensor_parallel_size = 2 does not divide moe_intermediate_size = 97");

  shape = mixtral_like();
  shape.shared_expert_ffn = 100;
  EXPECT_EQ(fit_error(c, 2, shape),
            "tensor_parallel_size = 2 slices shared_expert_intermediate_size = 100 into 50 columns "
            "per rank, not a whole number of 32-element quantization blocks");
  c.enable_attention_dp = true;  // dense FFNs replicated with attention
  EXPECT_EQ(fit_error(c, 2, shape), "(no ConfigError)");
}

TEST(Mapping, LayersAndExpertsPerRank) {
  ParallelConfig c;
  c.pipeline_parallel_size = 4;
  const int64_t expected_layers[4][2] = {{0, 3}, {3, 6}, {6, 8}, {8, 10}};  // 10 layers: 3 3 2 2
  for (int stage = 0; stage < 4; ++stage) {
    const LayerRange layers = pp_layers(make_mapping(c, 4, stage), 10);
    EXPECT_EQ(layers.first, expected_layers[stage][0]);
    EXPECT_EQ(layers.last, expected_layers[stage][1]);
  }
  c = {};
  c.tensor_parallel_size = 4;
  c.moe_expert_parallel_size = 2;  // moe_tp 2: ranks 0,2 hold experts 0-3; ranks 1,3 hold 4-7
  const int64_t expected_first[4] = {0, 4, 0, 4};
  for (int rank = 0; rank < 4; ++rank) {
    const ExpertRange experts = ep_experts(make_mapping(c, 4, rank), 8);
    EXPECT_EQ(experts.first, expected_first[rank]);
    EXPECT_EQ(experts.last, expected_first[rank] + 4);
  }
}

}  // namespace
}  // namespace moe::parallel
