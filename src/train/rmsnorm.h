// RMSNorm y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps), and its backward.
// Shapes: T rows, H columns (the normalised dimension).
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"

namespace moe::train {

struct RmsNormSaved {
  std::vector<float> rstd;  // [T]
};

// out [T][H] (may alias x only when backward gets x from elsewhere).
void rmsnorm_forward(float* out, const float* x, const float* w, RmsNormSaved& saved, int64_t T, int64_t H, float eps,
                     ThreadPool* pool);
// dx [T][H] += ..., dw [H] += ... (dw may be null).
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const RmsNormSaved& saved, int64_t T, int64_t H, ThreadPool* pool);

}  // namespace moe::train
