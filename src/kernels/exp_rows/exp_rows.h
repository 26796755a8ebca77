// Vectorised out[i] = exp(x[i] * scale - shift) for the training attention's softmax (a libm exp
// per score was most of the attention's time). One algorithm on every level (exp_rows_kernels.h),
// so ref, AVX2 and AVX-512 give the same bits: t = x * scale (rounded), t - shift (rounded), then
// exp_approx (kernels/exp_approx.h: within ~2 ulp of expf on [-87, 88]).
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace moe::kernels {

// out[i] = exp_approx(x[i] * scale - shift), i < n (out may be x).
void exp_rows(const float* x, float scale, float shift, float* out, int64_t n);
// On the kernels of `level` (tests); throws UsageError if this CPU lacks it.
void exp_rows_with_level(IsaLevel level, const float* x, float scale, float shift, float* out, int64_t n);

}  // namespace moe::kernels
