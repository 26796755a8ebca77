// Learning-rate schedule as Megatron-Core's OptimizerParamScheduler computes it: linear warmup
// from 0 to lr over lr_warmup_iters, then decay to min_lr by lr_decay_iters (cosine, linear or
// constant), min_lr after that.
#pragma once

#include <cstdint>
#include <string>

namespace moe::train {

enum class LrDecayStyle { kConstant, kLinear, kCosine };
LrDecayStyle parse_lr_decay_style(const std::string& text);  // ConfigError naming lr_decay_style
const char* lr_decay_style_name(LrDecayStyle style);

struct LrSchedule {
  double lr = 1e-3;          // lr (the peak)
  double min_lr = 0.0;       // min_lr
  int64_t warmup_iters = 0;  // lr_warmup_iters
  int64_t decay_iters = 0;   // lr_decay_iters (train_iters when unset)
  LrDecayStyle style = LrDecayStyle::kCosine;

  // The rate of update number `iteration` (1-based: the first update is iteration 1).
  double at(int64_t iteration) const;
};

}  // namespace moe::train
