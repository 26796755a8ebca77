// AVX-512 sigmoid, 16 lanes (sigmoid_kernels.h's operations; 2^n by vscalefps).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on the intrinsics' undefined vectors
#endif
#include <immintrin.h>

#include "kernels/sigmoid/sigmoid_kernels.h"

namespace moe::kernels {

void sigmoid_avx512(const float* x, float* out, int64_t n) {
  using namespace sigmoid_constants;
  for (int64_t i = 0; i < n; i += 16) {
    __m512 t = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_loadu_ps(x + i));
    t = _mm512_min_ps(_mm512_set1_ps(kHigh), t);
    t = _mm512_max_ps(_mm512_set1_ps(kLow), t);
    const __m512 k =
        _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(k, _mm512_set1_ps(-kLn2Hi), t);
    r = _mm512_fmadd_ps(k, _mm512_set1_ps(-kLn2Lo), r);
    __m512 p = _mm512_set1_ps(kPoly[0]);
    for (int c = 1; c < 6; ++c) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kPoly[c]));
    const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512 e = _mm512_scalef_ps(y, k);
    _mm512_storeu_ps(out + i, _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
  }
}

}  // namespace moe::kernels
