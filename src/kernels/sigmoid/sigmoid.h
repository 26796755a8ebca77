// Vectorised logistic sigmoid, 1 / (1 + exp(-x)), for the training SwiGLU's element-wise passes
// (a libm expf per element was ~4 % of a MoE layer's forward + backward). One algorithm on every
// level (sigmoid_kernels.h), so ref, AVX2 and AVX-512 give the same bits; within 2 ulp-ish
// (|error| < 2.5e-7 absolute) of the exact value; NaN stays NaN.
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace moe::kernels {

// out[i] = sigmoid(x[i]), i < n (out may be x).
void sigmoid(const float* x, float* out, int64_t n);
// On the kernels of `level` (tests); throws UsageError if this CPU lacks it.
void sigmoid_with_level(IsaLevel level, const float* x, float* out, int64_t n);

}  // namespace moe::kernels
