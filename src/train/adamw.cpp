// AdamW update over the owned range of the concatenated parameters.
#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace moe::train {

AdamW::AdamW(std::vector<ParamRef> params, const AdamWConfig& config, int64_t begin, int64_t end)
    : params_(std::move(params)), config_(config) {
  for (const ParamRef& p : params_) {
    MOE_ASSERT(p.value.size() == p.grad.size());
    total_ += static_cast<int64_t>(p.value.size());
  }
  begin_ = begin;
  end_ = end < 0 ? total_ : end;
  MOE_ASSERT(0 <= begin_ && begin_ <= end_ && end_ <= total_);
  m_.assign(end_ - begin_, 0.0f);
  v_.assign(end_ - begin_, 0.0f);
}

void AdamW::step(double lr) {
  ++steps_;
  const double correction1 = 1.0 - std::pow(config_.beta1, static_cast<double>(steps_));
  const double correction2 = 1.0 - std::pow(config_.beta2, static_cast<double>(steps_));
  const float b1 = static_cast<float>(config_.beta1), b2 = static_cast<float>(config_.beta2);
  const float step_size = static_cast<float>(lr / correction1);
  const float inv_sqrt_c2 = static_cast<float>(1.0 / std::sqrt(correction2));
  const float eps = static_cast<float>(config_.eps);
  int64_t offset = 0;  // first element of the current parameter in the concatenation
  for (const ParamRef& p : params_) {
    const int64_t size = static_cast<int64_t>(p.value.size());
    const int64_t lo = std::max(begin_, offset), hi = std::min(end_, offset + size);
    const float decay = p.decay ? static_cast<float>(1.0 - lr * config_.weight_decay) : 1.0f;
    for (int64_t i = lo; i < hi; ++i) {
      float& w = p.value[i - offset];
      const float g = p.grad[i - offset];
      float& m = m_[i - begin_];
      float& v = v_[i - begin_];
      m = b1 * m + (1.0f - b1) * g;
      v = b2 * v + (1.0f - b2) * g * g;
      w = w * decay - step_size * m / (std::sqrt(v) * inv_sqrt_c2 + eps);
    }
    offset += size;
  }
}

}  // namespace moe::train
