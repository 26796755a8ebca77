// The sigmoid's algorithm, the same operations on every level (scalar in sigmoid.cpp, 8 and 16
// lanes in the ISA files):
//   t = clamp(-x, -87, 88)                  (x86 min/max order: a NaN passes through)
//   n = nearbyint(t log2(e))                (ties to even)
//   r = fma(n, -ln2_hi, t);  r = fma(n, -ln2_lo, r)      (Cephes' split of ln 2)
//   p = Cephes' expf polynomial in r by fma: p = fma(p, r, c) from c0 to c5
//   e = (fma(p, r * r, r) + 1) * 2^n         (exact scaling: e stays a normal float)
//   sigmoid = 1 / (1 + e)
#pragma once

#include <cstdint>

namespace moe::kernels::sigmoid_constants {

constexpr float kLow = -87.0f, kHigh = 88.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

}  // namespace moe::kernels::sigmoid_constants

namespace moe::kernels {

// Whole vectors only: n a multiple of 8 (AVX2) or 16 (AVX-512); the caller does the tail.
void sigmoid_avx2(const float* x, float* out, int64_t n);
void sigmoid_avx512(const float* x, float* out, int64_t n);

}  // namespace moe::kernels
