// The training key table: how each YAML key / flag is parsed into TrainConfig and printed back.
#include "train/train_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/config_text.h"
#include "core/error.h"
#include "core/suggest.h"
#include "io/yaml_file.h"
#include "train/router_train_yaml.h"

namespace moe::train {
namespace {

using Setter = std::function<void(TrainConfig&, const std::string& value, const std::string& where)>;
using Getter = std::function<std::string(const TrainConfig&)>;

struct Entry {
  TrainKey info;
  Setter set;
  Getter get;
};

int64_t to_int(const std::string& text, const std::string& where, int64_t min) {
  const int64_t value = parse_config_int(text, where);
  MOE_CHECK(value >= min, ConfigError, where, " must be >= ", min, ", got ", value);
  return value;
}

double to_double(const std::string& text, const std::string& where, double min) {
  const double value = parse_config_number(text, where);
  MOE_CHECK(value >= min, ConfigError, where, " must be >= ", min, ", got ", text);
  return value;
}

// A flag given without a value means true.
bool to_bool(const std::string& text, const std::string& where) {
  return text.empty() || parse_config_bool(text, where);
}

std::string show(double value) { return config_number_text(value); }
template <typename T>
std::string show_optional(const std::optional<T>& value) {
  if (!value) return "null";
  if constexpr (std::is_floating_point_v<T>) return show(*value);
  return std::to_string(*value);
}

// Field accessors: `field` maps the config to the member.
template <typename Field>
Entry int_key(const char* key, const char* section, const char* help, Field field, int64_t min) {
  return {{key, section, help, false},
          [=](TrainConfig& c, const std::string& v, const std::string& w) {
            field(c) = static_cast<std::remove_reference_t<decltype(field(c))>>(to_int(v, w, min));
          },
          [=](const TrainConfig& c) { return std::to_string(field(const_cast<TrainConfig&>(c))); }};
}
template <typename Field>
Entry optional_int_key(const char* key, const char* section, const char* help, Field field, int64_t min) {
  return {{key, section, help, false},
          [=](TrainConfig& c, const std::string& v, const std::string& w) {
            if (is_config_null(v))
              field(c).reset();
            else
              field(c) = to_int(v, w, min);
          },
          [=](const TrainConfig& c) { return show_optional(field(const_cast<TrainConfig&>(c))); }};
}
template <typename Field>
Entry double_key(const char* key, const char* section, const char* help, Field field, double min) {
  return {{key, section, help, false},
          [=](TrainConfig& c, const std::string& v, const std::string& w) { field(c) = to_double(v, w, min); },
          [=](const TrainConfig& c) { return show(field(const_cast<TrainConfig&>(c))); }};
}
template <typename Field>
Entry optional_double_key(const char* key, const char* section, const char* help, Field field, double min) {
  return {{key, section, help, false},
          [=](TrainConfig& c, const std::string& v, const std::string& w) {
            if (is_config_null(v))
              field(c).reset();
            else
              field(c) = to_double(v, w, min);
          },
          [=](const TrainConfig& c) { return show_optional(field(const_cast<TrainConfig&>(c))); }};
}
template <typename Field>
Entry bool_key(const char* key, const char* section, const char* help, Field field) {
  return {{key, section, help, true},
          [=](TrainConfig& c, const std::string& v, const std::string& w) { field(c) = to_bool(v, w); },
          [=](const TrainConfig& c) { return std::string(field(const_cast<TrainConfig&>(c)) ? "true" : "false"); }};
}
template <typename Field>
Entry string_key(const char* key, const char* section, const char* help, Field field) {
  return {{key, section, help, false},
          [=](TrainConfig& c, const std::string& v, const std::string&) { field(c) = is_config_null(v) ? "" : v; },
          [=](const TrainConfig& c) { return field(const_cast<TrainConfig&>(c)); }};
}
// An enum-like key: `names[i]` <-> `values[i]`.
template <typename Field, typename Enum, size_t N>
Entry choice_key(const char* key, const char* section, const char* help, Field field,
                 const std::array<std::pair<const char*, Enum>, N>& choices) {
  return {{key, section, help, false},
          [=](TrainConfig& c, const std::string& v, const std::string& w) {
            std::string valid;
            for (const auto& [name, value] : choices) {
              if (v == name) {
                field(c) = value;
                return;
              }
              valid += (valid.empty() ? "" : ", ") + std::string(name);
            }
            throw ConfigError(w + ": '" + v + "' (expected one of " + valid + ")");
          },
          [=](const TrainConfig& c) {
            for (const auto& [name, value] : choices)
              if (field(const_cast<TrainConfig&>(c)) == value) return std::string(name);
            return std::string("?");
          }};
}

// A router key, from the router's own table (router_train_yaml.h).
Entry router_entry(const RouterKey& row) {
  return {{row.key, "moe", row.help, row.is_flag},
          [&row](TrainConfig& c, const std::string& v, const std::string& w) { row.set(c.router, v, w); },
          [&row](const TrainConfig& c) { return row.get(c.router); }};
}

#define FIELD(member) \
  [](TrainConfig & c) -> auto& { return c.member; }

std::vector<Entry> make_entries() {
  std::vector<Entry> rows = {
      // model
      string_key("model", "model", "preset name, HF config.json or HF model directory", FIELD(model.model)),
      string_key("tokenizer", "model", "model whose tokenizer to use (default: the model's)", FIELD(model.tokenizer)),
      optional_int_key("num_layers", "model", "transformer layers", FIELD(model.num_layers), 1),
      optional_int_key("hidden_size", "model", "hidden size", FIELD(model.hidden_size), 1),
      optional_int_key("ffn_hidden_size", "model", "FFN size (experts' when moe_ffn_hidden_size is unset)",
                       FIELD(model.ffn_hidden_size), 1),
      optional_int_key("num_attention_heads", "model", "attention heads", FIELD(model.num_attention_heads), 1),
      optional_int_key("num_query_groups", "model", "key/value heads (GQA)", FIELD(model.num_query_groups), 1),
      optional_int_key("kv_channels", "model", "head dimension", FIELD(model.kv_channels), 1),
      optional_int_key("num_experts", "model", "routed experts per layer", FIELD(model.num_experts), 1),
      optional_int_key("moe_ffn_hidden_size", "model", "intermediate size of one expert",
                       FIELD(model.moe_ffn_hidden_size), 1),
      optional_int_key("moe_shared_expert_intermediate_size", "model", "shared expert size (Qwen2-MoE)",
                       FIELD(model.moe_shared_expert_intermediate_size), 0),
      optional_int_key("max_position_embeddings", "model", "context length of the model",
                       FIELD(model.max_position_embeddings), 1),
      optional_double_key("rotary_base", "model", "RoPE theta", FIELD(model.rotary_base), 1.0),
      optional_double_key("norm_epsilon", "model", "RMSNorm epsilon", FIELD(model.norm_epsilon), 0.0),
      optional_double_key("init_method_std", "model", "std of fresh weights (default: the preset's)",
                          FIELD(model.init_method_std), 0.0),
      int_key("seq_length", "model", "tokens per training sequence", FIELD(model.seq_length), 1),
      // moe
      double_key("moe_input_jitter_eps", "moe", "router input noise in [1-eps, 1+eps] (0: off)",
                 FIELD(input_jitter_eps), 0.0),
      // parallel
      int_key("expert_model_parallel_size", "parallel", "ranks that split the experts (EP)",
              FIELD(expert_model_parallel_size), 1),
      int_key("tensor_model_parallel_size", "parallel", "ranks that split attention heads and the shared expert (TP)",
              FIELD(tensor_model_parallel_size), 1),
      bool_key("sequence_parallel", "parallel",
               "split each sequence over the TP ranks outside attention (needed with TP > 1)",
               FIELD(sequence_parallel)),
      bool_key("use_distributed_optimizer", "parallel", "shard Adam state and master weights over data-parallel ranks",
               FIELD(use_distributed_optimizer)),
      double_key("comm_timeout_s", "parallel", "seconds a rank waits in one exchange", FIELD(comm_timeout_s), 0.001),
      // training
      int_key("micro_batch_size", "training", "sequences per rank per forward/backward", FIELD(micro_batch_size), 1),
      optional_int_key("global_batch_size", "training", "sequences per update (gradient accumulation)",
                       FIELD(global_batch_size), 1),
      double_key("lr", "training", "peak learning rate", FIELD(lr.lr), 0.0),
      double_key("min_lr", "training", "learning rate at the end of the decay", FIELD(lr.min_lr), 0.0),
      int_key("lr_warmup_iters", "training", "iterations of linear warmup", FIELD(lr.warmup_iters), 0),
      int_key("lr_decay_iters", "training", "iteration where the decay ends (0: train_iters)", FIELD(lr.decay_iters),
              0),
      choice_key("lr_decay_style", "training", "cosine, linear or constant", FIELD(lr.style),
                 std::array<std::pair<const char*, LrDecayStyle>, 3>{{{"cosine", LrDecayStyle::kCosine},
                                                                      {"linear", LrDecayStyle::kLinear},
                                                                      {"constant", LrDecayStyle::kConstant}}}),
      double_key("weight_decay", "training", "decoupled weight decay (not on norms and biases)",
                 FIELD(adam.weight_decay), 0.0),
      double_key("clip_grad", "training", "global gradient-norm clip (0: off)", FIELD(clip_grad), 0.0),
      double_key("adam_beta1", "training", "Adam beta1", FIELD(adam.beta1), 0.0),
      double_key("adam_beta2", "training", "Adam beta2", FIELD(adam.beta2), 0.0),
      double_key("adam_eps", "training", "Adam epsilon", FIELD(adam.eps), 0.0),
      int_key("train_iters", "training", "optimizer updates to run", FIELD(train_iters), 1),
      int_key("exit_interval", "training", "stop after an iteration divisible by it, saving first (0: off)",
              FIELD(exit_interval), 0),
      int_key("seed", "training", "seed of the weights, data order and jitter", FIELD(seed), 0),
      bool_key("bf16", "training", "expert GEMMs with bf16 inputs and f32 sums; f32 master weights", FIELD(bf16)),
      int_key("threads", "training", "threads per rank (0: cores / ranks)", FIELD(threads), 0),
      // data
      string_key("data_path", "data", "token file prefix written by moe data", FIELD(data_path)),
      string_key("split", "data", "train,valid,test weights", FIELD(split)),
      // checkpoint
      string_key("save", "checkpoint", "checkpoint directory to write", FIELD(save)),
      string_key("load", "checkpoint", "checkpoint directory to resume from", FIELD(load)),
      int_key("save_interval", "checkpoint", "iterations between checkpoints (0: at the end)", FIELD(save_interval), 0),
      // logging
      int_key("log_interval", "logging", "iterations between progress lines", FIELD(log_interval), 1),
      int_key("eval_interval", "logging", "iterations between validation runs (0: off)", FIELD(eval_interval), 0),
      int_key("eval_iters", "logging", "validation batches per evaluation", FIELD(eval_iters), 1),
      string_key("log_file", "logging", "JSON-lines log of every logged step", FIELD(log_file)),
      bool_key("profile", "logging",
               "print the seconds of each phase of the training steps at the end (attention, router, experts, "
               "permutation, optimizer, communication, data, other)",
               FIELD(profile)),
  };
  // The router's keys from its own table, ahead of the jitter; num_experts is a model size here.
  auto at = std::find_if(rows.begin(), rows.end(),
                         [](const Entry& e) { return std::string(e.info.key) == "moe_input_jitter_eps"; });
  for (const RouterKey& row : router_key_table())
    if (std::string(row.key) != "num_experts") at = rows.insert(at, router_entry(row)) + 1;
  return rows;
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = make_entries();
  return table;
}

#undef FIELD

const Entry& find_entry(const std::string& key, const std::string& where) {
  for (const Entry& entry : entries())
    if (key == entry.info.key) return entry;
  std::vector<std::string> known;
  for (const Entry& entry : entries()) known.emplace_back(entry.info.key);
  throw ConfigError(where + "unknown key '" + key + "'" + suggest_known(key, known));
}

const char* const kSections[] = {"model", "moe", "parallel", "training", "data", "checkpoint", "logging"};

}  // namespace

const std::vector<TrainKey>& train_keys() {
  static const std::vector<TrainKey> keys = [] {
    std::vector<TrainKey> out;
    for (const Entry& entry : entries()) out.push_back(entry.info);
    return out;
  }();
  return keys;
}

void apply_train_key(TrainConfig& config, const std::string& key, const std::string& value, const std::string& where) {
  find_entry(key, where.empty() ? "" : where + ": ").set(config, value, where.empty() ? key : where);
  config.given.insert(key);
}

void load_train_config(TrainConfig& config, const std::string& yaml_path) {
  const YAML::Node root = io::read_yaml_file(yaml_path);
  if (root.IsNull()) return;
  MOE_CHECK(root.IsMap(), ConfigError, yaml_path, ": expected a mapping of training keys");
  std::function<void(const YAML::Node&, const std::string&)> read = [&](const YAML::Node& map,
                                                                        const std::string& section) {
    for (const auto& item : map) {
      const std::string key = io::yaml_key(item.first, yaml_path);
      const YAML::Node& value = item.second;
      if (value.IsMap()) {
        MOE_CHECK(section.empty() && std::find(std::begin(kSections), std::end(kSections), key) != std::end(kSections),
                  ConfigError, yaml_path, ": '", key, "' is not a section",
                  suggest_known(key, std::vector<std::string>(std::begin(kSections), std::end(kSections))));
        read(value, key);
        continue;
      }
      const std::string where = detail::concat(yaml_path, ": key '", key, "'");
      MOE_CHECK(value.IsScalar() || value.IsNull(), ConfigError, where, " must be a single value");
      find_entry(key, yaml_path + ": ").set(config, value.IsNull() ? "null" : value.as<std::string>(), where);
      config.given.insert(key);
    }
  };
  read(root, "");
}

void TrainConfig::validate() const {
  MOE_CHECK(lr.min_lr <= lr.lr, ConfigError, "min_lr (", lr.min_lr, ") must be <= lr (", lr.lr, ")");
  MOE_CHECK(lr.decay_iters == 0 || lr.decay_iters >= lr.warmup_iters, ConfigError, "lr_decay_iters (", lr.decay_iters,
            ") must be >= lr_warmup_iters (", lr.warmup_iters, ")");
  MOE_CHECK(adam.beta1 < 1 && adam.beta2 < 1, ConfigError, "adam_beta1 and adam_beta2 must be < 1");
  MOE_CHECK(!data_path.empty(), ConfigError, "data_path is not set (a token file from moe data)");
  if (global_batch_size) {
    MOE_CHECK(*global_batch_size % micro_batch_size == 0, ConfigError, "global_batch_size (", *global_batch_size,
              ") must be a multiple of micro_batch_size (", micro_batch_size, ")");
  }
}

std::vector<std::pair<std::string, std::string>> describe_train_config(const TrainConfig& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Entry& entry : entries()) out.emplace_back(entry.info.key, entry.get(config));
  return out;
}

}  // namespace moe::train
