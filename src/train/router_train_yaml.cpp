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

std::string show(double value) { return config_number_text(value); }
std::string show(const std::optional<double>& value) { return value ? show(*value) : "null"; }
std::string show(bool value) { return value ? "true" : "false"; }

// A number key Megatron leaves unset (None) by default: null gives `unset`.
double number_or(const std::string& value, const std::string& where, double unset) {
  return is_config_null(value) ? unset : parse_config_number(value, where);
}
std::optional<double> optional_number(const std::string& value, const std::string& where) {
  return is_config_null(value) ? std::nullopt : std::optional(parse_config_number(value, where));
}

// One row per router key: its help, whether it is a store_true flag, how it is read and printed.
const RouterKey kKeys[] = {
    {"num_experts", "routed experts per layer", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) { c.num_experts = parse_config_int(v, w); },
     [](const RouterTrainConfig& c) { return std::to_string(c.num_experts); }},
    {"moe_router_topk", "experts per token (default: the model's)", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) { c.topk = parse_config_int(v, w); },
     [](const RouterTrainConfig& c) { return std::to_string(c.topk); }},
    {"moe_router_load_balancing_type", "aux_loss, seq_aux_loss, sinkhorn or none", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       if (v == "aux_loss")
         c.load_balancing = LoadBalancing::kAuxLoss;
       else if (v == "seq_aux_loss")
         c.load_balancing = LoadBalancing::kSeqAuxLoss;
       else if (v == "sinkhorn")
         c.load_balancing = LoadBalancing::kSinkhorn;
       else if (v == "none")
         c.load_balancing = LoadBalancing::kNone;
       else
         throw ConfigError(detail::concat(w, " must be aux_loss, seq_aux_loss, sinkhorn or none, got '", v, "'"));
     },
     [](const RouterTrainConfig& c) { return load_balancing_name(c.load_balancing); }},
    {"moe_aux_loss_coeff", "weight of the load-balancing loss", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       c.aux_loss_coeff = parse_config_number(v, w);
     },
     [](const RouterTrainConfig& c) { return show(c.aux_loss_coeff); }},
    {"moe_z_loss_coeff", "weight of the router z-loss", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) { c.z_loss_coeff = number_or(v, w, 0.0); },
     [](const RouterTrainConfig& c) { return show(c.z_loss_coeff); }},
    {"moe_expert_capacity_factor", "capacity factor (null: dropless)", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       c.capacity_factor = optional_number(v, w);
     },
     [](const RouterTrainConfig& c) { return show(c.capacity_factor); }},
    {"moe_token_drop_policy", "probs or position", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       MOE_CHECK(v == "probs" || v == "position", ConfigError, w, " must be probs or position, got '", v, "'");
       c.drop_policy = v == "probs" ? DropPolicy::kProbs : DropPolicy::kPosition;
     },
     [](const RouterTrainConfig& c) { return drop_policy_name(c.drop_policy); }},
    {"moe_pad_expert_input_to_capacity", "pad every expert to its capacity", true,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       c.pad_to_capacity = parse_config_bool(v, w);
     },
     [](const RouterTrainConfig& c) { return show(c.pad_to_capacity); }},
    {"moe_router_pre_softmax", "softmax over all experts before top-k (default: the architecture's)", true,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) { c.pre_softmax = parse_config_bool(v, w); },
     [](const RouterTrainConfig& c) { return show(c.pre_softmax); }},
    {"moe_router_score_function", "softmax, sigmoid or sqrtsoftplus", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       const std::optional<ScoreFunction> f = score_function_from_name(v);
       MOE_CHECK(f, ConfigError, w, " must be softmax, sigmoid or sqrtsoftplus, got '", v, "'");
       c.score_function = *f;
     },
     [](const RouterTrainConfig& c) { return std::string(score_function_name(c.score_function)); }},
    {"moe_router_num_groups", "expert groups for group-limited routing (0: off)", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       c.num_groups = is_config_null(v) ? 0 : parse_config_int(v, w);
     },
     [](const RouterTrainConfig& c) { return std::to_string(c.num_groups); }},
    {"moe_router_group_topk", "groups a token may use", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       c.group_topk = is_config_null(v) ? 0 : parse_config_int(v, w);
     },
     [](const RouterTrainConfig& c) { return std::to_string(c.group_topk); }},
    {"moe_router_topk_scaling_factor", "multiplies the routing weights", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       c.topk_scaling_factor = optional_number(v, w);
     },
     [](const RouterTrainConfig& c) { return show(c.topk_scaling_factor); }},
    {"moe_router_enable_expert_bias", "aux-loss-free balancing bias (DeepSeek-V3)", true,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       c.enable_expert_bias = parse_config_bool(v, w);
     },
     [](const RouterTrainConfig& c) { return show(c.enable_expert_bias); }},
    {"moe_router_bias_update_rate", "expert bias step per global batch", false,
     [](RouterTrainConfig& c, const std::string& v, const std::string& w) {
       c.bias_update_rate = parse_config_number(v, w);
     },
     [](const RouterTrainConfig& c) { return show(c.bias_update_rate); }},
};

const RouterKey* find_key(const std::string& key) {
  for (const RouterKey& row : kKeys)
    if (key == row.key) return &row;
  return nullptr;
}

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
  for (const RouterKey& known : kKeys) {
    const size_t distance = edit_distance(key, known.key);
    if (distance < best.second) best = {known.key, distance};
  }
  return best;
}

std::string unknown_key_message(const std::string& key) {
  return "unknown router key '" + key + "'" + suggest_known(key, router_train_keys());
}

bool is_router_key(const std::string& key) { return find_key(key) != nullptr; }

// Keys that other readers own: Megatron's other MoE keys and the parallel layout keys.
bool is_other_known_key(const std::string& key) {
  if (std::find(std::begin(kOtherMoeKeys), std::end(kOtherMoeKeys), key) != std::end(kOtherMoeKeys)) return true;
  const std::vector<std::string>& parallel = parallel::parallel_config_keys();
  return std::find(parallel.begin(), parallel.end(), key) != parallel.end();
}

}  // namespace

std::span<const RouterKey> router_key_table() { return kKeys; }

const std::vector<std::string>& router_train_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> names;
    for (const RouterKey& row : kKeys) names.emplace_back(row.key);
    return names;
  }();
  return keys;
}

bool router_train_key_is_flag(const std::string& key) {
  const RouterKey* row = find_key(key);
  return row != nullptr && row->is_flag;
}

void set_router_train_key(RouterTrainConfig& config, const std::string& key, const std::string& value,
                          const std::string& where) {
  const RouterKey* row = find_key(key);
  MOE_CHECK(row != nullptr, ConfigError, where, ": ", unknown_key_message(key));
  row->set(config, value, where);
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
    const std::string key = io::yaml_key(entry.first, where);
    if (key == "moe") {
      MOE_CHECK(entry.second.IsMap() || entry.second.IsNull(), ConfigError, where,
                ": key 'moe' must be a mapping of router keys");
      for (const auto& inner : entry.second) read_entry(io::yaml_key(inner.first, where), inner.second, true);
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
