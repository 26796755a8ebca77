// RMSNorm over the last dimension: out = x / sqrt(mean(x^2) + eps) * weight.
#pragma once

#include <cstdint>

namespace moe::kernels {

// x, out: [n_rows, n_cols] with row strides; weight: [n_cols] (null = no scale). out may alias x.
void rmsnorm(const float* x, int64_t ldx, const float* weight, float* out, int64_t ldo, int64_t n_rows, int64_t n_cols,
             float eps);

}  // namespace moe::kernels
