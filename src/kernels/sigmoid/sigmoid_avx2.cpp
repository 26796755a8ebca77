// AVX2 sigmoid, 8 lanes (sigmoid_kernels.h's operations).
#include <immintrin.h>

#include "kernels/exp_approx_avx2.h"
#include "kernels/sigmoid/sigmoid_kernels.h"

namespace moe::kernels {

void sigmoid_avx2(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 e = exp_approx_avx2(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_loadu_ps(x + i)));
    _mm256_storeu_ps(out + i, _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
  }
}

}  // namespace moe::kernels
