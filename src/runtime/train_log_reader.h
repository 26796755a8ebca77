// The training log `moe train` writes: JSON lines, one object per logged step (the keys of
// train_log_fields.h, "eval_loss" only sometimes). Lines with an "event" key (resume, ...) are not
// steps and are skipped; so are blank lines. A run resumed from a checkpoint logs steps again from
// there: a step that is not after the previous one replaces the logged steps from it on.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace moe::runtime {

struct TrainLogStep {
  int64_t step = 0;
  double loss = 0, lm_loss = 0, aux_loss = 0, z_loss = 0;  // null in the log (a NaN) reads as NaN
  double grad_norm = 0, lr = 0, tokens_per_s = 0;
  std::vector<std::vector<int64_t>> expert_tokens;  // [layer][expert]: tokens routed in this step
  int64_t dropped_tokens = 0;
  std::optional<double> eval_loss;
};

struct TrainLog {
  std::vector<TrainLogStep> steps;  // ascending step numbers
  int64_t n_layers = 0, n_experts = 0;
};

// Parses the lines of `in`; `name` is the file named in errors: FormatError "name:line: why" for a
// line that is not a JSON object, lacks a field or has one of the wrong type or shape, and for a
// log without any step line.
TrainLog parse_train_log(std::istream& in, const std::string& name);
// The same from a file; IoError if it cannot be opened.
TrainLog read_train_log(const std::string& path);

// Each expert's share of the step's routed tokens in `layer`, or, without a layer, the mean over the
// layers of those shares. A layer that routed no tokens has no shares: it is left out of the mean,
// and asked for alone gives NaNs (a gap in a plotted curve).
std::vector<double> expert_shares(const TrainLogStep& step, std::optional<int64_t> layer);

}  // namespace moe::runtime
