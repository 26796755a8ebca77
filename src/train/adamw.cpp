// AdamW update over the owned range of the concatenated parameters, in chunks on a thread pool.
#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/param_chunks.h"

namespace moe::train {
namespace {

struct Coefficients {
  float b1, b2, step_size, inv_sqrt_c2, eps, decay;
};

// The update of n elements; the loop vectorises (restrict; -fno-math-errno: CMakeLists.txt).
void update(float* __restrict w, const float* __restrict grad, float* __restrict m, float* __restrict v, int64_t n,
            const Coefficients c) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    m[i] = c.b1 * m[i] + (1.0f - c.b1) * g;
    v[i] = c.b2 * v[i] + (1.0f - c.b2) * g * g;
    w[i] = w[i] * c.decay - c.step_size * m[i] / (std::sqrt(v[i]) * c.inv_sqrt_c2 + c.eps);
  }
}

}  // namespace

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

void AdamW::step(double lr, ThreadPool* pool) {
  ++steps_;
  const double correction1 = 1.0 - std::pow(config_.beta1, static_cast<double>(steps_));
  const double correction2 = 1.0 - std::pow(config_.beta2, static_cast<double>(steps_));
  const float b1 = static_cast<float>(config_.beta1), b2 = static_cast<float>(config_.beta2);
  const float step_size = static_cast<float>(lr / correction1);
  const float inv_sqrt_c2 = static_cast<float>(1.0 / std::sqrt(correction2));
  const float eps = static_cast<float>(config_.eps);
  const float decayed = static_cast<float>(1.0 - lr * config_.weight_decay);
  for_param_chunks(pool, begin_, end_, [&](int64_t, int64_t chunk_begin, int64_t chunk_end) {
    for_each_overlap(params_, chunk_begin, chunk_end, [&](const ParamRef& p, int64_t lo, int64_t hi, int64_t offset) {
      const float decay = p.decay ? decayed : 1.0f;
      update(p.value.data() + lo, p.grad.data() + lo, m_.data() + (offset + lo - begin_),
             v_.data() + (offset + lo - begin_), hi - lo, {b1, b2, step_size, inv_sqrt_c2, eps, decay});
    });
  });
}

}  // namespace moe::train
