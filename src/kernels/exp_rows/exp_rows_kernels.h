// exp_rows' whole-vector kernels, the same operations as the scalar one in exp_rows.cpp:
// t = x * scale, u = t - shift (two roundings, no fma), out = exp_approx(u).
#pragma once

#include <cstdint>

namespace moe::kernels {

// Whole vectors only: n a multiple of 8 (AVX2) or 16 (AVX-512); the caller does the tail.
void exp_rows_avx2(const float* x, float scale, float shift, float* out, int64_t n);
void exp_rows_avx512(const float* x, float scale, float shift, float* out, int64_t n);

}  // namespace moe::kernels
