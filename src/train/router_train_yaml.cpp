// Reading the router keys (YAML or command-line text) into RouterTrainConfig.
#include "train/router_train_yaml.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "core/config_text.h"
#include "core/error.h"
#include "core/suggest.h"
#include "io/yaml_file.h"
#include "parallel/parallel_config.h"

namespace moe::train {
namespace {

const char* const kKeys[] = {
    "num_experts",
    "moe_router_topk",
    "moe_router_load_balancing_type",
    "moe_aux_loss_coeff",
    "moe_z_loss_coeff",
    "moe_expert_capacity_factor",
    "moe_token_drop_policy",
    "moe_pad_expert_input_to_capacity",
    "moe_router_pre_softmax",
    "moe_router_score_function",
    "moe_router_num_groups",
    "moe_router_group_topk",
    "moe_router_topk_scaling_factor",
    "moe_router_enable_expert_bias",
    "moe_router_bias_update_rate",
};

// Megatron-Core MoE keys outside the router: accepted beside the router keys, read elsewhere.
const char* const kOtherMoeKeys[] = {
    "moe_ffn_hidden_size",  "moe_shared_expert_intermediate_size",
    "moe_grouped_gemm",     "moe_token_dispatcher_type",
    "moe_layer_freq",       "moe_router_dtype",
    "moe_input_jitter_eps", "moe_per_layer_logging",
    "moe_layer_recompute",
};

// The router key nearest to `key` and its distance.
std::pair<std::string, size_t> nearest_key(const std::string& key) {
  std::pair<std::string, size_t> best{"", SIZE_MAX};
  for (const char* known : kKeys) {
    const size_t distance = edit_distance(key, known);
    if (distance < best.second) best = {known, distance};
  }
  return best;
}

std::string unknown_key_message(const std::string& key) {
  return "unknown router key '" + key + "'" +
         suggest_known(key, std::vector<std::string>(std::begin(kKeys), std::end(kKeys)));
}

bool is_router_key(const std::string& key) {
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

// Keys that other readers own: Megatron's other MoE keys and the parallel layout keys.
bool is_other_known_key(const std::string& key) {
  if (std::find(std::begin(kOtherMoeKeys), std::end(kOtherMoeKeys), key) != std::end(kOtherMoeKeys)) return true;
  const std::vector<std::string>& parallel = parallel::parallel_config_keys();
  return std::find(parallel.begin(), parallel.end(), key) != parallel.end();
}

}  // namespace

const std::vector<std::string>& router_train_keys() {
  static const std::vector<std::string> keys(std::begin(kKeys), std::end(kKeys));
  return keys;
}

bool router_train_key_is_flag(const std::string& key) {
  return key == "moe_pad_expert_input_to_capacity" || key == "moe_router_pre_softmax" ||
         key == "moe_router_enable_expert_bias";
}

void set_router_train_key(RouterTrainConfig& config, const std::string& key, const std::string& value,
                          const std::string& where) {
  MOE_CHECK(is_router_key(key), ConfigError, where, ": ", unknown_key_message(key));
  // Keys Megatron leaves unset (None) by default may be null; the rest need a value.
  const bool null = is_config_null(value);
  if (key == "moe_expert_capacity_factor") {
    config.capacity_factor = null ? std::nullopt : std::optional(parse_config_number(value, where));
  } else if (key == "moe_router_topk_scaling_factor") {
    config.topk_scaling_factor = null ? std::nullopt : std::optional(parse_config_number(value, where));
  } else if (key == "moe_z_loss_coeff") {
    config.z_loss_coeff = null ? 0.0 : parse_config_number(value, where);
  } else if (key == "moe_router_num_groups") {
    config.num_groups = null ? 0 : parse_config_int(value, where);
  } else if (key == "moe_router_group_topk") {
    config.group_topk = null ? 0 : parse_config_int(value, where);
  } else if (key == "num_experts") {
    config.num_experts = parse_config_int(value, where);
  } else if (key == "moe_router_topk") {
    config.topk = parse_config_int(value, where);
  } else if (key == "moe_aux_loss_coeff") {
    config.aux_loss_coeff = parse_config_number(value, where);
  } else if (key == "moe_router_bias_update_rate") {
    config.bias_update_rate = parse_config_number(value, where);
  } else if (key == "moe_pad_expert_input_to_capacity") {
    config.pad_to_capacity = parse_config_bool(value, where);
  } else if (key == "moe_router_pre_softmax") {
    config.pre_softmax = parse_config_bool(value, where);
  } else if (key == "moe_router_enable_expert_bias") {
    config.enable_expert_bias = parse_config_bool(value, where);
  } else if (key == "moe_router_load_balancing_type") {
    if (value == "aux_loss")
      config.load_balancing = LoadBalancing::kAuxLoss;
    else if (value == "seq_aux_loss")
      config.load_balancing = LoadBalancing::kSeqAuxLoss;
    else if (value == "sinkhorn")
      config.load_balancing = LoadBalancing::kSinkhorn;
    else if (value == "none")
      config.load_balancing = LoadBalancing::kNone;
    else
      throw ConfigError(detail::concat(where, " must be aux_loss, seq_aux_loss, sinkhorn or none, got '", value, "'"));
  } else if (key == "moe_token_drop_policy") {
    MOE_CHECK(value == "probs" || value == "position", ConfigError, where, " must be probs or position, got '", value,
              "'");
    config.drop_policy = value == "probs" ? DropPolicy::kProbs : DropPolicy::kPosition;
  } else if (key == "moe_router_score_function") {
    MOE_CHECK(value == "softmax" || value == "sigmoid", ConfigError, where, " must be softmax or sigmoid, got '", value,
              "'");
    config.score_function = value == "softmax" ? ScoreFunction::kSoftmax : ScoreFunction::kSigmoid;
  }
}

void read_router_train_keys(const YAML::Node& root, const std::string& where, RouterTrainConfig& config) {
  if (root.IsNull()) return;  // an empty file: every default
  MOE_CHECK(root.IsMap(), ConfigError, where, ": expected a mapping of keys at the top level");
  std::set<std::string> seen;
  auto read_entry = [&](const std::string& key, const YAML::Node& value, bool strict) {
    if (!is_router_key(key)) {
      if (is_other_known_key(key)) return;
      const bool looks_like_ours = key.rfind("moe_", 0) == 0 || nearest_key(key).second <= 2;
      MOE_CHECK(!strict && !looks_like_ours, ConfigError, where, ": ", unknown_key_message(key));
      return;
    }
    MOE_CHECK(seen.insert(key).second, ConfigError, where, ": key '", key,
              "' is given both at the top level and in 'moe:'");
    const std::string at = detail::concat(where, ": key '", key, "'");
    MOE_CHECK(value.IsScalar() || value.IsNull(), ConfigError, at, " must be a single value");
    set_router_train_key(config, key, value.IsNull() ? "null" : value.Scalar(), at);
  };
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key == "moe") {
      MOE_CHECK(entry.second.IsMap() || entry.second.IsNull(), ConfigError, where,
                ": key 'moe' must be a mapping of router keys");
      for (const auto& inner : entry.second) read_entry(inner.first.as<std::string>(), inner.second, true);
    } else if (is_router_key(key) || entry.second.IsScalar() || entry.second.IsNull()) {
      read_entry(key, entry.second, false);
    }  // else a section of another reader (model:, training:, ...)
  }
}

void read_router_train_file(const std::string& yaml_path, RouterTrainConfig& config) {
  const YAML::Node root = io::read_yaml_file(yaml_path);
  read_router_train_keys(root, yaml_path, config);
}

}  // namespace moe::train
