// Reading the training log line by line with nlohmann::json; every error names the file and line.
#include "runtime/train_log_reader.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "runtime/train_log_fields.h"

namespace moe::runtime {

namespace {

namespace key = train_log_fields;

// A number, or null: nlohmann writes a NaN or infinite loss as null.
double number_field(const nlohmann::json& line, const char* key, const std::string& where) {
  const auto it = line.find(key);
  MOE_CHECK(it != line.end(), FormatError, where, ": step line has no '", key, "'");
  if (it->is_null()) return NAN;
  MOE_CHECK(it->is_number(), FormatError, where, ": '", key, "' is not a number: ", it->dump());
  return it->get<double>();
}

int64_t integer_field(const nlohmann::json& line, const char* key, const std::string& where) {
  const auto it = line.find(key);
  MOE_CHECK(it != line.end(), FormatError, where, ": step line has no '", key, "'");
  MOE_CHECK(it->is_number_integer(), FormatError, where, ": '", key, "' is not an integer: ", it->dump());
  return it->get<int64_t>();
}

std::vector<std::vector<int64_t>> expert_tokens_field(const nlohmann::json& line, const std::string& where) {
  const auto it = line.find(key::kExpertTokens);
  MOE_CHECK(it != line.end(), FormatError, where, ": step line has no '", key::kExpertTokens, "'");
  const std::string field = where + ": '" + key::kExpertTokens + "'";  // the start of each message below
  MOE_CHECK(it->is_array() && !it->empty(), FormatError, field, " is not a [layer][expert] array");
  std::vector<std::vector<int64_t>> tokens;
  for (const nlohmann::json& layer : *it) {
    MOE_CHECK(layer.is_array() && !layer.empty(), FormatError, field, " layer ", tokens.size(),
              " is not a non-empty array");
    std::vector<int64_t>& counts = tokens.emplace_back();
    for (const nlohmann::json& count : layer) {
      MOE_CHECK(count.is_number_integer() && count.get<int64_t>() >= 0, FormatError, field, " layer ",
                tokens.size() - 1, " holds ", count.dump(), ", not a token count");
      counts.push_back(count.get<int64_t>());
    }
    MOE_CHECK(counts.size() == tokens[0].size(), FormatError, field, " layer ", tokens.size() - 1, " has ",
              counts.size(), " experts, layer 0 ", tokens[0].size());
  }
  return tokens;
}

TrainLogStep parse_step(const nlohmann::json& line, const std::string& where) {
  TrainLogStep s;
  s.step = integer_field(line, key::kStep, where);
  s.loss = number_field(line, key::kLoss, where);
  s.lm_loss = number_field(line, key::kLmLoss, where);
  s.aux_loss = number_field(line, key::kAuxLoss, where);
  s.z_loss = number_field(line, key::kZLoss, where);
  s.grad_norm = number_field(line, key::kGradNorm, where);
  s.lr = number_field(line, key::kLr, where);
  s.tokens_per_s = number_field(line, key::kTokensPerS, where);
  s.expert_tokens = expert_tokens_field(line, where);
  s.dropped_tokens = integer_field(line, key::kDroppedTokens, where);
  if (line.contains(key::kEvalLoss)) s.eval_loss = number_field(line, key::kEvalLoss, where);
  return s;
}

}  // namespace

TrainLog parse_train_log(std::istream& in, const std::string& name) {
  TrainLog log;
  std::string text;
  for (int64_t line_no = 1; std::getline(in, text); ++line_no) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = name + ":" + std::to_string(line_no);
    nlohmann::json line;
    try {
      line = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& error) {
      throw FormatError(detail::concat(where, ": not valid JSON (at byte ", error.byte, ")"));
    }
    MOE_CHECK(line.is_object(), FormatError, where, ": expected a JSON object, got ", line.type_name());
    if (line.contains(key::kEvent)) continue;
    TrainLogStep step = parse_step(line, where);
    if (log.steps.empty()) {
      log.n_layers = static_cast<int64_t>(step.expert_tokens.size());
      log.n_experts = static_cast<int64_t>(step.expert_tokens[0].size());
    }
    MOE_CHECK(static_cast<int64_t>(step.expert_tokens.size()) == log.n_layers &&
                  static_cast<int64_t>(step.expert_tokens[0].size()) == log.n_experts,
              FormatError, where, ": '", key::kExpertTokens, "' is ", step.expert_tokens.size(), "x",
              step.expert_tokens[0].size(), " but earlier steps are ", log.n_layers, "x", log.n_experts);
    while (!log.steps.empty() && log.steps.back().step >= step.step) log.steps.pop_back();  // resumed
    log.steps.push_back(std::move(step));
  }
  MOE_CHECK(!log.steps.empty(), FormatError, name, ": no training step lines (objects with \"step\", \"loss\", ...)");
  return log;
}

TrainLog read_train_log(const std::string& path) {
  std::ifstream in(path);
  MOE_CHECK(in.is_open(), IoError, path, ": cannot open: ", std::strerror(errno));
  TrainLog log = parse_train_log(in, path);
  MOE_CHECK(!in.bad(), IoError, path, ": cannot read: ", std::strerror(errno));
  return log;
}

std::vector<double> expert_shares(const TrainLogStep& step, std::optional<int64_t> layer) {
  const int64_t n_layers = static_cast<int64_t>(step.expert_tokens.size());
  const size_t n_experts = step.expert_tokens.at(0).size();
  std::vector<double> shares(n_experts, 0.0);
  int64_t n_counted = 0;
  for (int64_t layer_idx = 0; layer_idx < n_layers; ++layer_idx) {
    if (layer && *layer != layer_idx) continue;
    const std::vector<int64_t>& counts = step.expert_tokens[layer_idx];
    double total = 0;
    for (int64_t count : counts) total += static_cast<double>(count);
    if (total == 0) continue;
    for (size_t expert = 0; expert < n_experts; ++expert) shares[expert] += static_cast<double>(counts[expert]) / total;
    ++n_counted;
  }
  for (double& share : shares) share = n_counted ? share / n_counted : NAN;
  return shares;
}

}  // namespace moe::runtime
