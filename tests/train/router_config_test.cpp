// RouterTrainConfig::validate and the YAML reader: every error names its key, a full training YAML
// reads, misspelt keys are caught with a suggestion.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "train/router_train_yaml.h"

namespace moe::train {
namespace {

RouterTrainConfig valid() {
  RouterTrainConfig config;
  config.num_experts = 8;
  config.topk = 2;
  return config;
}

// validate() must throw a ConfigError whose message starts with `key`.
template <typename Change>
void expect_invalid(const std::string& key, Change change) {
  RouterTrainConfig config = valid();
  change(config);
  try {
    config.validate();
    ADD_FAILURE() << "no error for " << key;
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(key + ":", 0), 0u) << e.what();
  }
}

TEST(RouterConfig, ValidateNamesTheKey) {
  valid().validate();
  expect_invalid("moe_router_topk", [](auto& c) { c.topk = 9; });
  expect_invalid("moe_router_topk", [](auto& c) { c.topk = 0; });
  expect_invalid("num_experts", [](auto& c) { c.num_experts = 0; });
  expect_invalid("moe_aux_loss_coeff", [](auto& c) { c.aux_loss_coeff = -0.1; });
  expect_invalid("moe_z_loss_coeff", [](auto& c) { c.z_loss_coeff = -1; });
  expect_invalid("moe_expert_capacity_factor", [](auto& c) { c.capacity_factor = 0.0; });
  expect_invalid("moe_pad_expert_input_to_capacity", [](auto& c) { c.pad_to_capacity = true; });
  expect_invalid("moe_router_group_topk", [](auto& c) { c.group_topk = 2; });
  expect_invalid("moe_router_num_groups", [](auto& c) { c.num_groups = 4; });
  expect_invalid("moe_router_num_groups", [](auto& c) { c.num_groups = 3, c.group_topk = 1; });
  expect_invalid("moe_router_group_topk", [](auto& c) { c.num_groups = 4, c.group_topk = 5; });
  expect_invalid("moe_router_group_topk", [](auto& c) { c.num_groups = 4, c.group_topk = 3; });
  expect_invalid("moe_router_topk", [](auto& c) { c.topk = 5, c.num_groups = 4, c.group_topk = 2; });
  expect_invalid("moe_router_score_function", [](auto& c) {
    c.load_balancing = LoadBalancing::kSinkhorn, c.score_function = ScoreFunction::kSigmoid;
  });
  expect_invalid("moe_aux_loss_coeff",
                 [](auto& c) { c.load_balancing = LoadBalancing::kSinkhorn, c.aux_loss_coeff = 0.01; });
  expect_invalid("moe_expert_capacity_factor",
                 [](auto& c) { c.load_balancing = LoadBalancing::kSinkhorn, c.capacity_factor = 1.0; });
  expect_invalid("moe_router_pre_softmax", [](auto& c) { c.topk = 1; });
  expect_invalid("moe_router_enable_expert_bias", [](auto& c) { c.enable_expert_bias = true; });
  expect_invalid("moe_router_topk_scaling_factor", [](auto& c) { c.topk_scaling_factor = 0.0; });
}

std::string write_yaml(const std::string& name, const std::string& text) {
  std::filesystem::create_directories(MOE_TEST_TMP);
  const std::string path = std::string(MOE_TEST_TMP) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(RouterConfig, ReadsTheMoeSectionOfATrainingYaml) {
  const std::string path = write_yaml("train.yaml", R"(
model: {preset: mixtral-tiny}
training: {steps: 10, lr: 3.0e-4}
tensor_parallel_size: 1
moe_expert_parallel_size: 2
seed: 7
moe:
  num_experts: 16
  moe_router_topk: 4
  moe_router_load_balancing_type: seq_aux_loss
  moe_aux_loss_coeff: 1.0e-2
  moe_z_loss_coeff: null
  moe_expert_capacity_factor: 1.25
  moe_token_drop_policy: position
  moe_pad_expert_input_to_capacity: true
  moe_router_score_function: sigmoid
  moe_router_num_groups: 4
  moe_router_group_topk: 2
  moe_router_topk_scaling_factor: 2.5
  moe_router_enable_expert_bias: true
  moe_router_bias_update_rate: 1.0e-3
  moe_ffn_hidden_size: 256
)");
  RouterTrainConfig config;
  read_router_train_file(path, config);
  config.validate();
  EXPECT_EQ(config.num_experts, 16);
  EXPECT_EQ(config.topk, 4);
  EXPECT_EQ(config.load_balancing, LoadBalancing::kSeqAuxLoss);
  EXPECT_DOUBLE_EQ(config.aux_loss_coeff, 0.01);
  EXPECT_EQ(config.z_loss_coeff, 0.0);
  EXPECT_EQ(config.capacity_factor, 1.25);
  EXPECT_EQ(config.drop_policy, DropPolicy::kPosition);
  EXPECT_TRUE(config.pad_to_capacity);
  EXPECT_EQ(config.score_function, ScoreFunction::kSigmoid);
  EXPECT_EQ(config.num_groups, 4);
  EXPECT_EQ(config.group_topk, 2);
  EXPECT_EQ(config.topk_scaling_factor, 2.5);
  EXPECT_TRUE(config.enable_expert_bias);
}

TEST(RouterConfig, ReadsTopLevelKeys) {
  const std::string path = write_yaml("flat.yaml", "num_experts: 8\nmoe_router_topk: 1\nmoe_router_pre_softmax: yes\n");
  RouterTrainConfig config;
  read_router_train_file(path, config);
  EXPECT_EQ(config.topk, 1);
  EXPECT_TRUE(config.pre_softmax);
}

void expect_yaml_error(const std::string& text, const std::string& message) {
  const std::string path = write_yaml("bad.yaml", text);
  RouterTrainConfig config;
  try {
    read_router_train_file(path, config);
    ADD_FAILURE() << "no error for " << text;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
  }
}

TEST(RouterConfig, YamlErrors) {
  expect_yaml_error("moe:\n  moe_router_topk_: 2\n",
                    "unknown router key 'moe_router_topk_' (did you mean 'moe_router_topk'?)");
  expect_yaml_error("moe_router_tokp: 2\n", "did you mean 'moe_router_topk'");
  expect_yaml_error("num_expert: 2\n", "did you mean 'num_experts'");
  expect_yaml_error("moe:\n  learning_rate: 2\n", "unknown router key 'learning_rate' (valid keys:");
  expect_yaml_error("moe_router_topk: 2\nmoe:\n  moe_router_topk: 3\n", "both at the top level");
  expect_yaml_error("moe_router_topk: two\n", "key 'moe_router_topk' must be an integer, got 'two'");
  expect_yaml_error("moe_router_load_balancing_type: global_aux_loss\n",
                    "must be aux_loss, seq_aux_loss, sinkhorn or none");
  expect_yaml_error("moe_router_pre_softmax: maybe\n", "must be true or false");
  expect_yaml_error("moe_router_topk: [1, 2]\n", "must be a single value");
  expect_yaml_error("moe: [1]\n", "key 'moe' must be a mapping");
  expect_yaml_error("moe_router_topk: 2\n  x: [\n", "bad.yaml:");
  EXPECT_THROW(
      {
        RouterTrainConfig config;
        read_router_train_file(std::string(MOE_TEST_TMP) + "/nowhere.yaml", config);
      },
      IoError);
}

TEST(RouterConfig, FlagsAreTheStoreTrueKeys) {
  EXPECT_EQ(router_train_keys().size(), 15u);
  EXPECT_TRUE(router_train_key_is_flag("moe_router_pre_softmax"));
  EXPECT_FALSE(router_train_key_is_flag("moe_router_topk"));
}

}  // namespace
}  // namespace moe::train

namespace moe::train {
namespace {

TEST(RouterConfig, MegatronKeysMapOntoTheModelsRouter) {
  RouterTrainConfig config = valid();  // softmax, top-2, not pre_softmax: renormalised over the k
  RouterConfig routing = config.routing();
  EXPECT_EQ(routing.n_experts, 8);
  EXPECT_EQ(routing.top_k, 2);
  EXPECT_TRUE(routing.renormalize);
  EXPECT_EQ(routing.n_groups, 1);
  EXPECT_FALSE(routing.group_score_top.has_value());
  config.pre_softmax = true;
  EXPECT_FALSE(config.routing().renormalize);
  // Sigmoid scores are normalised whenever k > 1; groups score their top k / group_topk.
  config.score_function = ScoreFunction::kSigmoid;
  config.topk = 4;
  config.num_groups = 4;
  config.group_topk = 2;
  config.topk_scaling_factor = 2.5;
  routing = config.routing();
  EXPECT_TRUE(routing.renormalize);
  EXPECT_EQ(routing.n_groups, 4);
  EXPECT_EQ(routing.topk_groups, 2);
  EXPECT_EQ(routing.group_score_top, 2);
  EXPECT_FLOAT_EQ(routing.routed_scaling_factor, 2.5f);
  config.topk = 1;
  config.num_groups = config.group_topk = 0;
  EXPECT_FALSE(config.routing().renormalize);
}

}  // namespace
}  // namespace moe::train
