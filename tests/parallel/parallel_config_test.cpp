// parallel.yaml and flag overrides: every key, null, the reserved section, and each error message.
#include "parallel/parallel_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace moe::parallel {
namespace {

std::string write_yaml(const std::string& name, const std::string& text) {
  std::filesystem::create_directories(MOE_TEST_TMP);
  const std::string path = std::string(MOE_TEST_TMP) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

TEST(ParallelConfig, ReadsEveryKey) {
  const std::string path = write_yaml("all.yaml",
                                      "tensor_parallel_size: 4\n"
                                      "pipeline_parallel_size: 2\n"
                                      "moe_tensor_parallel_size: 2\n"
                                      "moe_expert_parallel_size: 2\n"
                                      "data_parallel_size: 3\n"
                                      "enable_attention_dp: true\n"
                                      "comm_timeout_s: 12.5\n"
                                      "check_dispatch: yes\n"
                                      "profile: false\n");
  const ParallelConfig c = load_parallel_config(path);
  EXPECT_EQ(c.tensor_parallel_size, 4);
  EXPECT_EQ(c.pipeline_parallel_size, 2);
  EXPECT_EQ(c.moe_tensor_parallel_size, 2);
  EXPECT_EQ(c.moe_expert_parallel_size, 2);
  EXPECT_EQ(c.data_parallel_size, 3);
  EXPECT_TRUE(c.enable_attention_dp);
  EXPECT_EQ(c.comm_timeout_s, 12.5);
  EXPECT_TRUE(c.check_dispatch);
  EXPECT_FALSE(c.profile);
}

TEST(ParallelConfig, EmptyFileAndNullKeepDefaults) {
  const ParallelConfig empty = load_parallel_config(write_yaml("empty.yaml", ""));
  EXPECT_FALSE(empty.tensor_parallel_size.has_value());
  EXPECT_FALSE(empty.enable_attention_dp);
  EXPECT_EQ(empty.comm_timeout_s, 300);
  const ParallelConfig c =
      load_parallel_config(write_yaml("null.yaml",
                                      "moe_expert_parallel_size: null\n"
                                      "tensor_parallel_size: 2\n"
                                      "moe_load_balancer:\n  num_slots: 16\n  layer_updates_per_iter: 1\n"));
  EXPECT_FALSE(c.moe_expert_parallel_size.has_value());
  EXPECT_EQ(c.tensor_parallel_size, 2);
  EXPECT_FALSE(empty.moe_load_balancer.has_value());
}

TEST(ParallelConfig, LoadBalancerSectionInBothAssignmentForms) {
  const ParallelConfig c = load_parallel_config(
      write_yaml("lb.yaml",
                 "moe_load_balancer:\n  num_slots: 6\n  layer_updates_per_iter: 2\n  update_interval: 8\n"
                 "  window_size: 4\n  policy: budgeted\n  replica_routing: spread\n"
                 "  initial_global_assignments:\n    1: [0, 1, 2, 3, 0, 0]\n    0: [3, 2, 1, 0, 1, 1]\n"));
  ASSERT_TRUE(c.moe_load_balancer.has_value());
  const MoeLoadBalancerConfig& lb = *c.moe_load_balancer;
  EXPECT_EQ(lb.num_slots, 6);
  EXPECT_EQ(lb.layer_updates_per_iter, 2);
  EXPECT_EQ(lb.update_interval, 8);
  EXPECT_EQ(lb.window_size, 4);
  EXPECT_EQ(lb.policy, "budgeted");
  EXPECT_EQ(lb.replica_routing, "spread");
  EXPECT_EQ(lb.initial_global_assignments, (std::vector<std::vector<int64_t>>{{3, 2, 1, 0, 1, 1}, {0, 1, 2, 3, 0, 0}}));
  const ParallelConfig list = load_parallel_config(
      write_yaml("lb_list.yaml", "moe_load_balancer:\n  num_slots: 4\n  initial_global_assignments: [[0, 1, 1, 0]]\n"));
  EXPECT_EQ(list.moe_load_balancer->initial_global_assignments, (std::vector<std::vector<int64_t>>{{0, 1, 1, 0}}));
  EXPECT_FALSE(list.moe_load_balancer->update_interval.has_value());
  EXPECT_EQ(list.moe_load_balancer->replica_routing, "local_first");
}

TEST(ParallelConfig, LoadBalancerErrorsNameTheKey) {
  const std::string p1 = write_yaml("lb1.yaml", "moe_load_balancer:\n  layer_updates_per_iter: 1\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p1); }), "moe_load_balancer: num_slots is required");
  const std::string p2 = write_yaml("lb2.yaml", "moe_load_balancer:\n  num_slots: 8\n  slots: 2\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p2); }),
            p2 + ": moe_load_balancer: unknown key 'slots' (valid keys: num_slots, initial_global_assignments, "
                 "placement, update_interval, window_size, layer_updates_per_iter, policy, replica_routing)");
  const std::string p3 = write_yaml("lb3.yaml", "moe_load_balancer:\n  num_slots: 8\n  window_size: 0\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p3); }), p3 + ": moe_load_balancer.window_size must be >= 1, got 0");
  const std::string p4 =
      write_yaml("lb4.yaml", "moe_load_balancer:\n  num_slots: 2\n  initial_global_assignments: {0: [0, x]}\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p4); }),
            p4 + ": moe_load_balancer.initial_global_assignments layer 0 must be an integer, got 'x'");
  const std::string p5 = write_yaml("lb5.yaml", "moe_load_balancer:\n  num_slots: 2\n  policy: random\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p5); }),
            "moe_load_balancer.policy must be global or budgeted, got 'random'");
  const std::string p6 = write_yaml(
      "lb6.yaml", "moe_load_balancer:\n  num_slots: 2\n  placement: p.json\n  initial_global_assignments: [[0, 1]]\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p6); }),
            "moe_load_balancer: give initial_global_assignments or placement, not both");
}

TEST(ParallelConfig, UnknownKeySuggestsTheNearestOne) {
  const std::string path = write_yaml("parallel.yaml", "tensor_parallel: 2\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(path); }),
            path + ": unknown key 'tensor_parallel' (did you mean 'tensor_parallel_size'?)");
  const std::string typo = write_yaml("typo.yaml", "moe_expert_paralel_size: 2\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(typo); }),
            typo + ": unknown key 'moe_expert_paralel_size' (did you mean 'moe_expert_parallel_size'?)");
}

TEST(ParallelConfig, UnknownKeyFarFromAnyListsTheValidKeys) {
  const std::string path = write_yaml("far.yaml", "max_batch_size: 8\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(path); }),
            path +
                ": unknown key 'max_batch_size' (valid keys: tensor_parallel_size, "
                "pipeline_parallel_size, moe_tensor_parallel_size, moe_expert_parallel_size, "
                "data_parallel_size, enable_attention_dp, comm_timeout_s, check_dispatch, "
                "profile)");
}

TEST(ParallelConfig, UnsupportedTensorRtLlmKeyIsNamed) {
  const std::string path = write_yaml("cp.yaml", "context_parallel_size: 2\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(path); }),
            path + ": key 'context_parallel_size' (TensorRT-LLM) is not supported by moe.cpp");
}

TEST(ParallelConfig, WrongTypesNameFileAndKey) {
  const std::string p1 = write_yaml("t1.yaml", "tensor_parallel_size: two\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p1); }),
            p1 + ": key 'tensor_parallel_size' must be an integer, got 'two'");
  const std::string p2 = write_yaml("t2.yaml", "pipeline_parallel_size: 1.5\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p2); }),
            p2 + ": key 'pipeline_parallel_size' must be an integer, got '1.5'");
  const std::string p3 = write_yaml("t3.yaml", "enable_attention_dp: maybe\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p3); }),
            p3 + ": key 'enable_attention_dp' must be true or false, got 'maybe'");
  const std::string p4 = write_yaml("t4.yaml", "tensor_parallel_size: [2, 4]\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p4); }),
            p4 + ": key 'tensor_parallel_size' must be a single value, not a list");
  const std::string p5 = write_yaml("t5.yaml", "tensor_parallel_size: 0\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p5); }), p5 + ": key 'tensor_parallel_size' must be >= 1, got 0");
  const std::string p6 = write_yaml("t6.yaml", "comm_timeout_s: -1\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p6); }), p6 + ": key 'comm_timeout_s' must be > 0, got -1");
  const std::string p7 = write_yaml("t7.yaml", "enable_attention_dp: null\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p7); }),
            p7 + ": key 'enable_attention_dp' must be a single value, not a null");
  const std::string p8 = write_yaml("t8.yaml", "moe_load_balancer: 3\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(p8); }), p8 + ": moe_load_balancer must be a mapping");
}

TEST(ParallelConfig, NotAMappingOrNotYaml) {
  const std::string list = write_yaml("list.yaml", "- tensor_parallel_size\n");
  EXPECT_EQ(error_of([&] { load_parallel_config(list); }),
            list + ": expected a mapping of parallel keys at the top level");
  const std::string broken = write_yaml("broken.yaml", "tensor_parallel_size: [2\n");
  EXPECT_NE(error_of([&] { load_parallel_config(broken); }).find(broken + ":"), std::string::npos);
  EXPECT_THROW(load_parallel_config(std::string(MOE_TEST_TMP) + "/missing.yaml"), IoError);
}

TEST(ParallelConfig, OverridesNameTheFlag) {
  ParallelConfig c;
  apply_override(c, "tensor_parallel_size", "2");
  apply_override(c, "enable_attention_dp", "1");
  apply_override(c, "comm_timeout_s", "0.5");
  EXPECT_EQ(c.tensor_parallel_size, 2);
  EXPECT_TRUE(c.enable_attention_dp);
  EXPECT_EQ(c.comm_timeout_s, 0.5);
  EXPECT_EQ(error_of([&] { apply_override(c, "tensor_parallel_size", "2x"); }),
            "--tensor-parallel-size must be an integer, got '2x'");
  EXPECT_EQ(error_of([&] { apply_override(c, "moe_expert_parallel_size", "-2"); }),
            "--moe-expert-parallel-size must be >= 1, got -2");
  EXPECT_EQ(error_of([&] { apply_override(c, "profile", "sometimes"); }),
            "--profile must be true or false, got 'sometimes'");
  EXPECT_EQ(error_of([&] { apply_override(c, "tensor_paralel_size", "2"); }),
            "--tensor-paralel-size: unknown key 'tensor_paralel_size' (did you mean "
            "'tensor_parallel_size'?)");
  EXPECT_EQ(flag_name("moe_expert_parallel_size"), "--moe-expert-parallel-size");
}

TEST(ParallelConfig, ValidateNamesTheKey) {
  ParallelConfig c;
  c.data_parallel_size = 0;
  EXPECT_EQ(error_of([&] { c.validate(); }), "data_parallel_size must be >= 1, got 0");
  c.data_parallel_size.reset();
  c.comm_timeout_s = 0;
  EXPECT_EQ(error_of([&] { c.validate(); }), "comm_timeout_s must be > 0, got 0");
}

}  // namespace
}  // namespace moe::parallel
