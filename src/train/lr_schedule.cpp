// Warmup + decay learning-rate schedule.
#include "train/lr_schedule.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace moe::train {

LrDecayStyle parse_lr_decay_style(const std::string& text) {
  if (text == "constant") return LrDecayStyle::kConstant;
  if (text == "linear") return LrDecayStyle::kLinear;
  if (text == "cosine") return LrDecayStyle::kCosine;
  throw ConfigError("lr_decay_style: '" + text + "' (expected cosine, linear or constant)");
}

const char* lr_decay_style_name(LrDecayStyle style) {
  switch (style) {
    case LrDecayStyle::kConstant:
      return "constant";
    case LrDecayStyle::kLinear:
      return "linear";
    case LrDecayStyle::kCosine:
      return "cosine";
  }
  return "?";
}

double LrSchedule::at(int64_t iteration) const {
  if (warmup_iters > 0 && iteration <= warmup_iters)
    return lr * static_cast<double>(iteration) / static_cast<double>(warmup_iters);
  if (style == LrDecayStyle::kConstant) return lr;
  if (iteration > decay_iters) return min_lr;
  const double span = static_cast<double>(decay_iters - warmup_iters);
  const double ratio = span > 0 ? static_cast<double>(iteration - warmup_iters) / span : 1.0;
  const double coeff = style == LrDecayStyle::kLinear ? 1.0 - ratio : 0.5 * (std::cos(std::numbers::pi * ratio) + 1.0);
  return min_lr + coeff * (lr - min_lr);
}

}  // namespace moe::train
