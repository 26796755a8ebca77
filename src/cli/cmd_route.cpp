// `moe route`: the training router alone on given logits (Megatron-Core's options), printing the
// chosen experts, weights, loads, drops and the aux and z losses.
#include <cstdio>
#include <map>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "core/error.h"
#include "io/json_file.h"
#include "io/npy.h"
#include "parallel/parallel_config.h"
#include "train/router_train.h"
#include "train/router_train_yaml.h"

namespace moe::cli {

namespace {

struct RouteOptions {
  std::string logits;
  std::string config;
  std::string expert_bias;
  int64_t seq_length = 0;
  bool json = false;
  std::map<std::string, std::string> values;  // router key -> flag value ("" = not given)
  std::map<std::string, bool> flags;          // router key -> store_true flag given
};

const std::map<std::string, std::string> kKeyHelp = {
    {"num_experts", "Experts (default: the logits' columns)"},
    {"moe_router_topk", "Experts per token (default 2)"},
    {"moe_router_load_balancing_type", "aux_loss, seq_aux_loss, sinkhorn or none (default aux_loss)"},
    {"moe_aux_loss_coeff", "Aux loss coefficient (default 0: no aux loss)"},
    {"moe_z_loss_coeff", "Z-loss coefficient (default 0: off)"},
    {"moe_expert_capacity_factor", "Capacity factor (default: dropless)"},
    {"moe_token_drop_policy", "Over capacity keep the highest probs or the earliest position"},
    {"moe_pad_expert_input_to_capacity", "Pad every expert to the capacity (dispatcher rows)"},
    {"moe_router_pre_softmax", "Softmax over all experts before the top-k"},
    {"moe_router_score_function", "softmax, sigmoid or sqrtsoftplus"},
    {"moe_router_num_groups", "Expert groups for group-limited top-k"},
    {"moe_router_group_topk", "Groups each token may use"},
    {"moe_router_topk_scaling_factor", "Multiplies the combine weights"},
    {"moe_router_enable_expert_bias", "Add --expert-bias to the scores for selection (sigmoid, sqrtsoftplus)"},
    {"moe_router_bias_update_rate", "Expert-bias update rate (training; not used here)"},
};

constexpr const char* kHelp =
    "Runs the router in training mode as Megatron-Core computes it (docs/TRAINING.md). --logits "
    "is\n"
    "a JSON array [tokens][experts] or a 2-D float32/float64 .npy array; --expert-bias a JSON "
    "array\n"
    "or 1-D .npy of one value per expert. --config reads the same keys (underscores) from a YAML\n"
    "file, at its top level or in a 'moe:' section; flags override it. --seq-length S: tokens are\n"
    "S-token sequences one after another (needed by seq_aux_loss).\n"
    "--json prints {\"experts\": [T][k] (-1 where dropped), \"weights\": [T][k], "
    "\"tokens_per_expert\":\n"
    "[E], \"dropped\", \"capacity\" (null when dropless), \"aux_loss\", \"z_loss\"}; losses "
    "include their\n"
    "coefficients.";

// Logits as a [T][E] JSON array or a 2-D .npy array.
std::vector<float> read_logits(const std::string& path, int64_t& n_tokens, int64_t& n_experts) {
  std::vector<float> logits;
  if (io::is_npy_file(path)) {
    const io::NpyArray array = io::read_npy(path);
    MOE_CHECK(array.shape.size() == 2 && array.shape[0] >= 1 && array.shape[1] >= 1, FormatError, path,
              ": expected a 2-D array [tokens][experts], got ", array.shape.size(), " dimensions");
    n_tokens = array.shape[0];
    n_experts = array.shape[1];
    logits.assign(array.values.begin(), array.values.end());
    return logits;
  }
  const nlohmann::json rows = io::read_json_value(path);
  MOE_CHECK(rows.is_array() && !rows.empty(), FormatError, path,
            ": expected a JSON array of token rows [tokens][experts]");
  n_tokens = static_cast<int64_t>(rows.size());
  n_experts = rows[0].is_array() ? static_cast<int64_t>(rows[0].size()) : 0;
  MOE_CHECK(n_experts >= 1, FormatError, path, ": row 0 is not a non-empty array of numbers");
  for (size_t t = 0; t < rows.size(); ++t) {
    MOE_CHECK(rows[t].is_array() && static_cast<int64_t>(rows[t].size()) == n_experts, FormatError, path, ": row ", t,
              " has ", rows[t].is_array() ? rows[t].size() : 0, " values, row 0 has ", n_experts);
    for (const auto& value : rows[t]) {
      MOE_CHECK(value.is_number(), FormatError, path, ": row ", t, " holds a non-number ", value.dump());
      logits.push_back(value.get<float>());
    }
  }
  return logits;
}

std::vector<float> read_bias(const std::string& path) {
  if (io::is_npy_file(path)) {
    const io::NpyArray array = io::read_npy(path);
    MOE_CHECK(array.shape.size() == 1, FormatError, path, ": expected a 1-D array of expert biases");
    return {array.values.begin(), array.values.end()};
  }
  const nlohmann::json values = io::read_json_value(path);
  MOE_CHECK(values.is_array(), FormatError, path, ": expected a JSON array of expert biases");
  std::vector<float> bias;
  for (const auto& value : values) {
    MOE_CHECK(value.is_number(), FormatError, path, ": non-number ", value.dump());
    bias.push_back(value.get<float>());
  }
  return bias;
}

void print_table(const train::RouterTrainConfig& config, const train::RouterTrainOutput& out, int64_t n_tokens) {
  const int64_t k = config.topk;
  std::printf("%lld tokens, %s top-%lld of %lld experts, %s", static_cast<long long>(n_tokens),
              score_function_name(config.score_function), static_cast<long long>(k),
              static_cast<long long>(config.num_experts), train::load_balancing_name(config.load_balancing).c_str());
  if (config.load_balancing == train::LoadBalancing::kAuxLoss ||
      config.load_balancing == train::LoadBalancing::kSeqAuxLoss)
    std::printf(" coeff %g", config.aux_loss_coeff);
  if (config.z_loss_coeff > 0) std::printf(", z-loss coeff %g", config.z_loss_coeff);
  if (config.capacity_factor)
    std::printf(", capacity %lld (%s)", static_cast<long long>(out.capacity),
                train::drop_policy_name(config.drop_policy).c_str());
  std::printf("\n%5s  %-*s  %s\n", "token", static_cast<int>(4 * k), "experts", "weights");
  for (int64_t t = 0; t < n_tokens; ++t) {
    std::string experts, weights;
    for (int64_t j = 0; j < k; ++j) {
      const int32_t e = out.experts[t * k + j];
      char cell[32];
      std::snprintf(cell, sizeof(cell), "%-4s", e < 0 ? "-" : std::to_string(e).c_str());
      experts += cell;
      std::snprintf(cell, sizeof(cell), "%s%.6f", j ? " " : "", out.weights[t * k + j]);
      weights += cell;
    }
    std::printf("%5lld  %-*s  %s\n", static_cast<long long>(t), static_cast<int>(4 * k), experts.c_str(),
                weights.c_str());
  }
  std::printf("tokens per expert:");
  for (int64_t count : out.tokens_per_expert) std::printf(" %lld", static_cast<long long>(count));
  std::printf("\ndropped: %lld of %lld (token, expert) pairs\naux_loss: %.9g\nz_loss: %.9g\n",
              static_cast<long long>(out.dropped), static_cast<long long>(n_tokens * k), out.aux_loss, out.z_loss);
}

void run_route(const RouteOptions& o) {
  train::RouterTrainConfig config;
  if (!o.config.empty()) train::read_router_train_file(o.config, config);
  for (const auto& [key, value] : o.values)
    if (!value.empty()) train::set_router_train_key(config, key, value, parallel::flag_name(key));
  for (const auto& [key, given] : o.flags)
    if (given) train::set_router_train_key(config, key, "true", parallel::flag_name(key));

  int64_t n_tokens = 0, n_experts = 0;
  const std::vector<float> logits = read_logits(o.logits, n_tokens, n_experts);
  if (config.num_experts == 0) config.num_experts = n_experts;
  MOE_CHECK(config.num_experts == n_experts, UsageError, o.logits, ": ", n_experts,
            " experts per row but num_experts = ", config.num_experts);
  config.validate();
  std::vector<float> bias;
  if (!o.expert_bias.empty()) {
    MOE_CHECK(config.enable_expert_bias, UsageError, "--expert-bias: needs --moe-router-enable-expert-bias");
    bias = read_bias(o.expert_bias);
    MOE_CHECK(static_cast<int64_t>(bias.size()) == n_experts, UsageError, o.expert_bias, ": ", bias.size(),
              " biases for ", n_experts, " experts");
  }
  const bool per_sequence = config.load_balancing == train::LoadBalancing::kSeqAuxLoss && config.aux_loss_coeff > 0;
  MOE_CHECK(!per_sequence || (o.seq_length >= 1 && n_tokens % o.seq_length == 0), UsageError,
            "--seq-length: seq_aux_loss needs a sequence length that divides the ", n_tokens, " tokens, got ",
            o.seq_length);

  const train::RouterTrainOutput out =
      train::route_forward(logits, n_tokens, config, bias, o.seq_length, nullptr, nullptr);
  if (!o.json) {
    print_table(config, out, n_tokens);
    return;
  }
  const int64_t k = config.topk;
  nlohmann::json experts = nlohmann::json::array(), weights = nlohmann::json::array();
  for (int64_t t = 0; t < n_tokens; ++t) {
    experts.push_back(std::vector<int32_t>(out.experts.begin() + t * k, out.experts.begin() + (t + 1) * k));
    weights.push_back(std::vector<float>(out.weights.begin() + t * k, out.weights.begin() + (t + 1) * k));
  }
  const nlohmann::json report = {
      {"experts", experts},
      {"weights", weights},
      {"tokens_per_expert", out.tokens_per_expert},
      {"dropped", out.dropped},
      {"capacity", config.capacity_factor ? nlohmann::json(out.capacity) : nlohmann::json()},
      {"aux_loss", out.aux_loss},
      {"z_loss", out.z_loss},
  };
  std::puts(report.dump().c_str());
}

}  // namespace

void add_route_command(CLI::App& app) {
  auto o = std::make_shared<RouteOptions>();
  CLI::App* cmd = app.add_subcommand("route", "Run the training router alone on given logits");
  cmd->footer(kHelp);
  cmd->add_option("--logits", o->logits, "Router logits: JSON [tokens][experts] or 2-D .npy")->required();
  cmd->add_option("--config", o->config, "YAML file with the router keys (top level or 'moe:')");
  cmd->add_option("--expert-bias", o->expert_bias, "Expert bias: JSON array or 1-D .npy (selection only)");
  cmd->add_option("--seq-length", o->seq_length, "Tokens per sequence (seq_aux_loss)");
  cmd->add_flag("--json", o->json, "Print the result as JSON");
  for (const std::string& key : train::router_train_keys()) {
    const std::string flag = parallel::flag_name(key);
    if (train::router_train_key_is_flag(key))
      cmd->add_flag(flag, o->flags[key], kKeyHelp.at(key));
    else
      cmd->add_option(flag, o->values[key], kKeyHelp.at(key));
  }
  cmd->callback([o] { run_route(*o); });
}

}  // namespace moe::cli
