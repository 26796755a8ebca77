// exp_approx (kernels/exp_approx.h) on 8 lanes; include only from files built with AVX2 + FMA.
#pragma once

#include <immintrin.h>

#include "kernels/exp_approx.h"

namespace moe::kernels {

inline __m256 exp_approx_avx2(__m256 x) {
  using namespace exp_approx_constants;
  __m256 t = _mm256_min_ps(_mm256_set1_ps(kHigh), x);
  t = _mm256_max_ps(_mm256_set1_ps(kLow), t);
  const __m256 k =
      _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fmadd_ps(k, _mm256_set1_ps(-kLn2Hi), t);
  r = _mm256_fmadd_ps(k, _mm256_set1_ps(-kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kPoly[0]);
  for (int c = 1; c < 6; ++c) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kPoly[c]));
  const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  // 2^n built in the exponent bits.
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}

}  // namespace moe::kernels
