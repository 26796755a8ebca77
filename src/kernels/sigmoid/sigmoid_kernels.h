// The sigmoid's algorithm, the same operations on every level (scalar in sigmoid.cpp, 8 and 16
// lanes in the ISA files): e = exp_approx(-x) (kernels/exp_approx.h), sigmoid = 1 / (1 + e).
#pragma once

#include <cstdint>

namespace moe::kernels {

// Whole vectors only: n a multiple of 8 (AVX2) or 16 (AVX-512); the caller does the tail.
void sigmoid_avx2(const float* x, float* out, int64_t n);
void sigmoid_avx512(const float* x, float* out, int64_t n);

}  // namespace moe::kernels
