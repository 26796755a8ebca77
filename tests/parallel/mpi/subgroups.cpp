// Subgroup communicators built from Mappings: each group's communicator holds exactly the
// mapping's ranks, in coordinate order, and exchanges stay inside it.
#include <gtest/gtest.h>

#include "mpi_test_env.h"
#include "parallel/mapping.h"

namespace moe::parallel {
namespace {

using mpitest::world;

// Every group of `m` as a communicator, checked by a gather of world ranks (membership and
// order), a sum of world ranks, and an all-to-all whose values name the sender.
void check_groups(const Mapping& m) {
  Communicator& comm = world();
  const std::pair<const char*, const std::vector<int>*> groups[] = {{"tp", &m.tp_group},
                                                                    {"pp", &m.pp_group},
                                                                    {"dp", &m.dp_group},
                                                                    {"moe_tp", &m.moe_tp_group},
                                                                    {"moe_ep", &m.moe_ep_group}};
  const int coordinates[] = {m.tp_rank, m.pp_rank, m.dp_rank, m.moe_tp_rank, m.moe_ep_rank};
  for (int g = 0; g < 5; ++g) {
    const auto& [name, members] = groups[g];
    SCOPED_TRACE(name);
    Communicator group = comm.subgroup(*members);
    EXPECT_EQ(group.size(), static_cast<int>(members->size()));
    EXPECT_EQ(group.rank(), coordinates[g]);
    EXPECT_EQ(group.world_ranks(), *members);

    const float me = static_cast<float>(comm.rank());
    std::vector<float> gathered;
    std::vector<int64_t> counts;
    group.allgatherv(&me, 1, gathered, counts);
    EXPECT_EQ(gathered, std::vector<float>(members->begin(), members->end()));

    double sum = comm.rank();
    group.allreduce_sum(&sum, 1);
    double expected_sum = 0;
    for (int r : *members) expected_sum += r;
    EXPECT_EQ(sum, expected_sum);

    // One row per peer holding (sender's world rank, receiver's group rank).
    std::vector<float> send;
    std::vector<int64_t> send_counts(group.size(), 2);
    for (int peer = 0; peer < group.size(); ++peer) {
      send.push_back(me);
      send.push_back(static_cast<float>(peer));
    }
    std::vector<float> recv;
    std::vector<int64_t> recv_counts;
    group.alltoallv(send.data(), send_counts, recv, recv_counts, name, 2);
    std::vector<float> expected;
    for (int r : *members) {
      expected.push_back(static_cast<float>(r));
      expected.push_back(static_cast<float>(group.rank()));
    }
    EXPECT_EQ(recv, expected);
  }
}

Mapping mapping_for(ParallelConfig config) { return make_mapping(config, world().size(), world().rank()); }

TEST(MpiSubgroups, TensorParallel2ExpertParallel2) {
  if (world().size() % 2 != 0) GTEST_SKIP() << "needs an even world";
  ParallelConfig config;
  config.tensor_parallel_size = 2;
  config.moe_expert_parallel_size = 2;  // moe_tp = 1: whole experts per rank, dp = world / 2
  check_groups(mapping_for(config));
}

TEST(MpiSubgroups, HybridEtp2Ep2) {
  if (world().size() % 4 != 0) GTEST_SKIP() << "needs a world of 4k";
  ParallelConfig config;
  config.tensor_parallel_size = 4;
  config.moe_tensor_parallel_size = 2;
  config.moe_expert_parallel_size = 2;
  const Mapping m = mapping_for(config);
  // TensorRT-LLM's order: an EP group is consecutive ranks, a moe-TP group strides by moe_ep.
  const int base = world().rank() / 4 * 4;
  EXPECT_EQ(m.moe_ep_group, (std::vector<int>{base + m.tp_rank / 2 * 2, base + m.tp_rank / 2 * 2 + 1}));
  EXPECT_EQ(m.moe_tp_group, (std::vector<int>{base + m.tp_rank % 2, base + m.tp_rank % 2 + 2}));
  check_groups(m);
}

TEST(MpiSubgroups, PipelineAndDataParallel) {
  if (world().size() % 4 != 0) GTEST_SKIP() << "needs a world of 4k";
  ParallelConfig config;
  config.tensor_parallel_size = 2;
  config.pipeline_parallel_size = 2;
  config.enable_attention_dp = true;
  check_groups(mapping_for(config));
}

TEST(MpiSubgroups, NestedSubgroupOfSubgroup) {
  if (world().size() % 4 != 0) GTEST_SKIP() << "needs a world of 4k";
  ParallelConfig config;
  config.tensor_parallel_size = 4;
  config.moe_tensor_parallel_size = 2;
  const Mapping m = mapping_for(config);
  Communicator tp = world().subgroup(m.tp_group);
  Communicator ep = tp.subgroup(m.moe_ep_group);  // world ranks, though split from tp
  EXPECT_EQ(ep.world_ranks(), m.moe_ep_group);
  EXPECT_EQ(ep.rank(), m.moe_ep_rank);
  double value = 1.0;
  ep.allreduce_sum(&value, 1);
  EXPECT_EQ(value, 2.0);
}

TEST(MpiSubgroups, RejectsAGroupWithoutThisRank) {
  if (world().size() < 2) GTEST_SKIP();
  const int other = (world().rank() + 1) % world().size();
  EXPECT_THROW(world().subgroup({other}), CommError);  // checked before any communication
  EXPECT_THROW(world().subgroup({world().rank(), world().size()}), CommError);
}

}  // namespace
}  // namespace moe::parallel
