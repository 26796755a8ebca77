// Reading parallel.yaml and command-line overrides into ParallelConfig, with errors that name
// the file or flag, the key and the value.
#include "parallel/parallel_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <variant>

#include "core/config_text.h"
#include "core/error.h"
#include "core/suggest.h"
#include "io/yaml_file.h"

namespace moe::parallel {
namespace {

using OptionalInt = std::optional<int> ParallelConfig::*;
using Bool = bool ParallelConfig::*;
using Double = double ParallelConfig::*;

struct Field {
  const char* key;
  std::variant<OptionalInt, Bool, Double> member;
};

const Field kFields[] = {
    {"tensor_parallel_size", &ParallelConfig::tensor_parallel_size},
    {"pipeline_parallel_size", &ParallelConfig::pipeline_parallel_size},
    {"moe_tensor_parallel_size", &ParallelConfig::moe_tensor_parallel_size},
    {"moe_expert_parallel_size", &ParallelConfig::moe_expert_parallel_size},
    {"data_parallel_size", &ParallelConfig::data_parallel_size},
    {"enable_attention_dp", &ParallelConfig::enable_attention_dp},
    {"comm_timeout_s", &ParallelConfig::comm_timeout_s},
    {"check_dispatch", &ParallelConfig::check_dispatch},
    {"profile", &ParallelConfig::profile},
};

// TensorRT-LLM layout keys we recognise but do not implement: a clearer error than a guess.
const char* const kUnsupportedTrtllmKeys[] = {"context_parallel_size", "moe_cluster_parallel_size", "auto_parallel",
                                              "gpus_per_node", "cp_config"};

std::string unknown_key_message(const std::string& key) {
  for (const char* unsupported : kUnsupportedTrtllmKeys) {
    if (key == unsupported) {
      return detail::concat("key '", key, "' (TensorRT-LLM) is not supported by moe.cpp");
    }
  }
  return "unknown key '" + key + "'" + suggest_known(key, parallel_config_keys());
}

// An int of at least `minimum`.
int bounded_int(const std::string& text, const std::string& where, int minimum) {
  const int64_t value = parse_config_int(text, where);
  MOE_CHECK(value >= minimum, ConfigError, where, " must be >= ", minimum, ", got ", value);
  MOE_CHECK(value <= std::numeric_limits<int>::max(), ConfigError, where, " is too large: ", value);
  return static_cast<int>(value);
}

// Sets one field from its text; `where` prefixes errors ("parallel.yaml: key 'x'" or "--x").
void set_field(ParallelConfig& config, const Field& field, const std::string& text, const std::string& where) {
  if (const auto* member = std::get_if<OptionalInt>(&field.member)) {
    config.*(*member) = bounded_int(text, where, 1);
  } else if (const auto* member = std::get_if<Bool>(&field.member)) {
    config.*(*member) = parse_config_bool(text, where);
  } else {
    const double value = parse_config_number(text, where);
    MOE_CHECK(value > 0, ConfigError, where, " must be > 0, got ", text);
    config.*std::get<Double>(field.member) = value;
  }
}

int positive_int(const YAML::Node& value, const std::string& where, int minimum = 1) {
  MOE_CHECK(value.IsScalar(), ConfigError, where, " must be an integer");
  return bounded_int(value.Scalar(), where, minimum);
}

std::vector<int64_t> expert_list(const YAML::Node& value, const std::string& where) {
  MOE_CHECK(value.IsSequence(), ConfigError, where, " must be a list of expert ids");
  std::vector<int64_t> experts;
  for (const YAML::Node& item : value) experts.push_back(positive_int(item, where, 0));
  return experts;
}

constexpr int kMaxLayers = 1 << 16;  // as ModelConfig::validate

// initial_global_assignments: {layer: [experts]} (TensorRT-LLM) or [[experts], ...].
std::vector<std::vector<int64_t>> assignments(const YAML::Node& value, const std::string& where) {
  std::vector<std::vector<int64_t>> layers;
  if (value.IsSequence()) {
    for (size_t layer = 0; layer < value.size(); ++layer)
      layers.push_back(expert_list(value[layer], detail::concat(where, " layer ", layer)));
    return layers;
  }
  MOE_CHECK(value.IsMap(), ConfigError, where, " must be a mapping {layer: [expert of each slot]} or a list");
  for (const auto& entry : value) {
    const int layer = positive_int(entry.first, where + " layer", 0);
    // Layers are counted before the model is known: bounded like num_hidden_layers.
    MOE_CHECK(layer < kMaxLayers, ConfigError, where, " layer ", layer, " is beyond the ", kMaxLayers,
              " layers a model may have");
    if (static_cast<int>(layers.size()) <= layer) layers.resize(layer + 1);
    layers[layer] = expert_list(entry.second, detail::concat(where, " layer ", layer));
  }
  return layers;
}

// `dir`: the YAML file's folder, against which a relative placement path is taken.
MoeLoadBalancerConfig load_balancer_config(const YAML::Node& node, const std::string& where,
                                           const std::filesystem::path& dir) {
  MOE_CHECK(node.IsMap(), ConfigError, where, " must be a mapping");
  MoeLoadBalancerConfig config;
  for (const auto& entry : node) {
    const std::string key = io::yaml_key(entry.first, where);
    const YAML::Node& value = entry.second;
    const std::string at = detail::concat(where, ".", key);
    if (key == "num_slots") {
      config.num_slots = positive_int(value, at);
    } else if (key == "initial_global_assignments") {
      config.initial_global_assignments = assignments(value, at);
    } else if (key == "placement") {
      MOE_CHECK(value.IsScalar(), ConfigError, at, " must be a file name");
      const std::filesystem::path file(value.Scalar());
      config.placement = file.is_relative() ? (dir / file).string() : file.string();
    } else if (key == "update_interval") {
      config.update_interval = positive_int(value, at);
    } else if (key == "window_size") {
      config.window_size = positive_int(value, at);
    } else if (key == "layer_updates_per_iter") {
      config.layer_updates_per_iter = positive_int(value, at);
    } else if (key == "replica_routing") {
      MOE_CHECK(value.IsScalar(), ConfigError, at, " must be local_first or spread");
      config.replica_routing = value.Scalar();
    } else if (key == "policy") {
      MOE_CHECK(value.IsScalar(), ConfigError, at, " must be global or budgeted");
      config.policy = value.Scalar();
    } else {
      throw ConfigError(
          detail::concat(where, ": unknown key '", key,
                         "' (valid keys: num_slots, initial_global_assignments, placement, "
                         "update_interval, window_size, layer_updates_per_iter, policy, replica_routing)"));
    }
  }
  config.validate();
  return config;
}

const Field* find_field(const std::string& key) {
  for (const Field& field : kFields) {
    if (key == field.key) return &field;
  }
  return nullptr;
}

}  // namespace

void MoeLoadBalancerConfig::validate() const {
  MOE_CHECK(num_slots.has_value(), ConfigError, "moe_load_balancer: num_slots is required");
  MOE_CHECK(*num_slots >= 1, ConfigError, "moe_load_balancer.num_slots must be >= 1, got ", *num_slots);
  MOE_CHECK(initial_global_assignments.empty() || placement.empty(), ConfigError,
            "moe_load_balancer: give initial_global_assignments or placement, not both");
  MOE_CHECK(!update_interval || *update_interval >= 1, ConfigError,
            "moe_load_balancer.update_interval must be >= 1, got ", update_interval.value_or(0));
  MOE_CHECK(window_size >= 1, ConfigError, "moe_load_balancer.window_size must be >= 1, got ", window_size);
  MOE_CHECK(layer_updates_per_iter >= 1, ConfigError, "moe_load_balancer.layer_updates_per_iter must be >= 1, got ",
            layer_updates_per_iter);
  MOE_CHECK(policy == "global" || policy == "budgeted", ConfigError,
            "moe_load_balancer.policy must be global or budgeted, got '", policy, "'");
  MOE_CHECK(replica_routing == "local_first" || replica_routing == "spread", ConfigError,
            "moe_load_balancer.replica_routing must be local_first or spread, got '", replica_routing, "'");
}

void ParallelConfig::validate() const {
  const std::pair<const char*, const std::optional<int>*> sizes[] = {
      {"tensor_parallel_size", &tensor_parallel_size},
      {"pipeline_parallel_size", &pipeline_parallel_size},
      {"moe_tensor_parallel_size", &moe_tensor_parallel_size},
      {"moe_expert_parallel_size", &moe_expert_parallel_size},
      {"data_parallel_size", &data_parallel_size}};
  for (const auto& [key, value] : sizes) {
    MOE_CHECK(!value->has_value() || **value >= 1, ConfigError, key, " must be >= 1, got ", value->value_or(0));
  }
  MOE_CHECK(comm_timeout_s > 0, ConfigError, "comm_timeout_s must be > 0, got ", comm_timeout_s);
  if (moe_load_balancer) moe_load_balancer->validate();
}

const std::vector<std::string>& parallel_config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> names;
    for (const Field& field : kFields) names.emplace_back(field.key);
    return names;
  }();
  return keys;
}

std::string flag_name(const std::string& key) {
  std::string flag = "--" + key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

ParallelConfig load_parallel_config(const std::string& yaml_path) {
  const YAML::Node root = io::read_yaml_file(yaml_path);
  ParallelConfig config;
  if (root.IsNull()) return config;  // an empty file: every default
  MOE_CHECK(root.IsMap(), ConfigError, yaml_path, ": expected a mapping of parallel keys at the top level");
  for (const auto& entry : root) {
    const std::string key = io::yaml_key(entry.first, yaml_path);
    const YAML::Node& value = entry.second;
    if (key == "moe_load_balancer") {
      config.moe_load_balancer = load_balancer_config(value, detail::concat(yaml_path, ": ", key),
                                                      std::filesystem::path(yaml_path).parent_path());
      continue;
    }
    const Field* field = find_field(key);
    MOE_CHECK(field != nullptr, ConfigError, yaml_path, ": ", unknown_key_message(key));
    const std::string where = detail::concat(yaml_path, ": key '", key, "'");
    if (value.IsNull() && std::holds_alternative<OptionalInt>(field->member)) {
      config.*std::get<OptionalInt>(field->member) = std::nullopt;
      continue;
    }
    MOE_CHECK(value.IsScalar(), ConfigError, where, " must be a single value, not a ",
              value.IsMap()        ? "mapping"
              : value.IsSequence() ? "list"
                                   : "null");
    set_field(config, *field, value.Scalar(), where);
  }
  return config;
}

void apply_override(ParallelConfig& config, const std::string& key, const std::string& value) {
  const Field* field = find_field(key);
  MOE_CHECK(field != nullptr, ConfigError, flag_name(key), ": ", unknown_key_message(key));
  set_field(config, *field, value, flag_name(key));
}

}  // namespace moe::parallel
