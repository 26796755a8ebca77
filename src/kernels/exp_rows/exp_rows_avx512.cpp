// AVX-512 exp_rows, 16 lanes (exp_rows_kernels.h's operations).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on the intrinsics' undefined vectors
#endif
#include <immintrin.h>

#include "kernels/exp_approx_avx512.h"
#include "kernels/exp_rows/exp_rows_kernels.h"

namespace moe::kernels {

void exp_rows_avx512(const float* x, float scale, float shift, float* out, int64_t n) {
  const __m512 s = _mm512_set1_ps(scale), m = _mm512_set1_ps(shift);
  for (int64_t i = 0; i < n; i += 16)
    _mm512_storeu_ps(out + i, exp_approx_avx512(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), s), m)));
}

}  // namespace moe::kernels
