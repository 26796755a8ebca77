// AVX2 exp_rows, 8 lanes (exp_rows_kernels.h's operations).
#include <immintrin.h>

#include "kernels/exp_approx_avx2.h"
#include "kernels/exp_rows/exp_rows_kernels.h"

namespace moe::kernels {

void exp_rows_avx2(const float* x, float scale, float shift, float* out, int64_t n) {
  const __m256 s = _mm256_set1_ps(scale), m = _mm256_set1_ps(shift);
  for (int64_t i = 0; i < n; i += 8)
    _mm256_storeu_ps(out + i, exp_approx_avx2(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), m)));
}

}  // namespace moe::kernels
