// A vectorisable exp shared by the sigmoid and the attention's softmax, the same operations on
// every level (this scalar one, exp_approx_avx2.h, exp_approx_avx512.h), so all give the same bits:
//   t = clamp(x, -87, 88)                   (x86 min/max order: a NaN passes through)
//   n = nearbyint(t log2(e))                (ties to even)
//   r = fma(n, -ln2_hi, t);  r = fma(n, -ln2_lo, r)      (Cephes' split of ln 2)
//   p = Cephes' expf polynomial in r by fma: p = fma(p, r, c) from c0 to c5
//   exp = (fma(p, r * r, r) + 1) * 2^n      (exact scaling: the result stays a normal float)
// Within ~2 ulp of expf on [-87, 88]; below -87 it returns exp(-87) ~ 1.6e-38, not 0.
#pragma once

#include <cmath>

namespace moe::kernels {

namespace exp_approx_constants {

constexpr float kLow = -87.0f, kHigh = 88.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

}  // namespace exp_approx_constants

inline float exp_approx(float x) {
  using namespace exp_approx_constants;
  float t = kHigh < x ? kHigh : x;
  t = kLow > t ? kLow : t;
  if (std::isnan(t)) return t;
  const float n = std::nearbyint(t * kLog2e);
  float r = std::fma(n, -kLn2Hi, t);
  r = std::fma(n, -kLn2Lo, r);
  float p = kPoly[0];
  for (int i = 1; i < 6; ++i) p = std::fma(p, r, kPoly[i]);
  return std::ldexp(std::fma(p, r * r, r) + 1.0f, static_cast<int>(n));
}

}  // namespace moe::kernels
