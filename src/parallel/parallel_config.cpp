// Reading parallel.yaml and command-line overrides into ParallelConfig, with errors that name
// the file or flag, the key and the value.
#include "parallel/parallel_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <variant>

#include "core/error.h"

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
const char* const kUnsupportedTrtllmKeys[] = {"context_parallel_size", "moe_cluster_parallel_size",
                                              "auto_parallel", "gpus_per_node", "cp_config"};

// Mappings TensorRT-LLM's YAML may carry that belong to later features; skipped here.
const char* const kReservedSections[] = {"moe_load_balancer"};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(const std::string& key) {
  for (const char* unsupported : kUnsupportedTrtllmKeys) {
    if (key == unsupported) {
      return detail::concat("key '", key, "' (TensorRT-LLM) is not supported by moe.cpp");
    }
  }
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const std::string& known : parallel_config_keys()) {
    size_t distance = edit_distance(key, known);
    if (known.find(key) != std::string::npos || key.find(known) != std::string::npos) distance = 0;
    if (best == nullptr || distance < best_distance) {
      best = &known;
      best_distance = distance;
    }
  }
  if (best != nullptr && best_distance <= std::max<size_t>(3, key.size() / 4)) {
    return detail::concat("unknown key '", key, "' (did you mean '", *best, "'?)");
  }
  std::string valid;
  for (const std::string& known : parallel_config_keys())
    valid += (valid.empty() ? "" : ", ") + known;
  return detail::concat("unknown key '", key, "' (valid keys: ", valid, ")");
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::optional<int> parse_int(const std::string& text) {
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(const std::string& text) {
  const std::string value = lower(text);
  if (value == "true" || value == "yes" || value == "on" || value == "1") return true;
  if (value == "false" || value == "no" || value == "off" || value == "0") return false;
  return std::nullopt;
}

// Sets one field from its text; `where` prefixes errors ("parallel.yaml: key 'x'" or "--x").
void set_field(ParallelConfig& config, const Field& field, const std::string& text,
               const std::string& where) {
  if (const auto* member = std::get_if<OptionalInt>(&field.member)) {
    const std::optional<int> value = parse_int(text);
    MOE_CHECK(value.has_value(), ConfigError, where, " must be an integer, got '", text, "'");
    MOE_CHECK(*value >= 1, ConfigError, where, " must be >= 1, got ", *value);
    config.*(*member) = *value;
  } else if (const auto* member = std::get_if<Bool>(&field.member)) {
    const std::optional<bool> value = parse_bool(text);
    MOE_CHECK(value.has_value(), ConfigError, where, " must be true or false, got '", text, "'");
    config.*(*member) = *value;
  } else {
    const std::optional<double> value = parse_double(text);
    MOE_CHECK(value.has_value(), ConfigError, where, " must be a number, got '", text, "'");
    MOE_CHECK(*value > 0, ConfigError, where, " must be > 0, got ", text);
    config.*std::get<Double>(field.member) = *value;
  }
}

const Field* find_field(const std::string& key) {
  for (const Field& field : kFields) {
    if (key == field.key) return &field;
  }
  return nullptr;
}

}  // namespace

void ParallelConfig::validate() const {
  const std::pair<const char*, const std::optional<int>*> sizes[] = {
      {"tensor_parallel_size", &tensor_parallel_size},
      {"pipeline_parallel_size", &pipeline_parallel_size},
      {"moe_tensor_parallel_size", &moe_tensor_parallel_size},
      {"moe_expert_parallel_size", &moe_expert_parallel_size},
      {"data_parallel_size", &data_parallel_size}};
  for (const auto& [key, value] : sizes) {
    MOE_CHECK(!value->has_value() || **value >= 1, ConfigError, key, " must be >= 1, got ",
              value->value_or(0));
  }
  MOE_CHECK(comm_timeout_s > 0, ConfigError, "comm_timeout_s must be > 0, got ", comm_timeout_s);
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
  std::ifstream in(yaml_path);
  MOE_CHECK(in.good(), IoError, yaml_path, ": cannot open");
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(
        detail::concat(yaml_path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  ParallelConfig config;
  if (root.IsNull()) return config;  // an empty file: every default
  MOE_CHECK(root.IsMap(), ConfigError, yaml_path,
            ": expected a mapping of parallel keys at the top level");
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (std::find(std::begin(kReservedSections), std::end(kReservedSections), key) !=
        std::end(kReservedSections)) {
      MOE_CHECK(value.IsMap() || value.IsNull(), ConfigError, yaml_path, ": key '", key,
                "' must be a mapping");
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
