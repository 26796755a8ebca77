// exp_approx (kernels/exp_approx.h) on 16 lanes; include only from files built with AVX-512.
#pragma once

#include <immintrin.h>

#include "kernels/exp_approx.h"

namespace moe::kernels {

inline __m512 exp_approx_avx512(__m512 x) {
  using namespace exp_approx_constants;
  __m512 t = _mm512_min_ps(_mm512_set1_ps(kHigh), x);
  t = _mm512_max_ps(_mm512_set1_ps(kLow), t);
  const __m512 k =
      _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(k, _mm512_set1_ps(-kLn2Hi), t);
  r = _mm512_fmadd_ps(k, _mm512_set1_ps(-kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kPoly[0]);
  for (int c = 1; c < 6; ++c) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kPoly[c]));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, k);  // y * 2^n
}

}  // namespace moe::kernels
