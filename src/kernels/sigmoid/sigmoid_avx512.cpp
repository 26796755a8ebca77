// AVX-512 sigmoid, 16 lanes (sigmoid_kernels.h's operations).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on the intrinsics' undefined vectors
#endif
#include <immintrin.h>

#include "kernels/exp_approx_avx512.h"
#include "kernels/sigmoid/sigmoid_kernels.h"

namespace moe::kernels {

void sigmoid_avx512(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __m512 e = exp_approx_avx512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_loadu_ps(x + i)));
    _mm512_storeu_ps(out + i, _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
  }
}

}  // namespace moe::kernels
