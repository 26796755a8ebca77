// AVX2 sigmoid, 8 lanes (sigmoid_kernels.h's operations; 2^n built in the exponent bits).
#include <immintrin.h>

#include "kernels/sigmoid/sigmoid_kernels.h"

namespace moe::kernels {

void sigmoid_avx2(const float* x, float* out, int64_t n) {
  using namespace sigmoid_constants;
  for (int64_t i = 0; i < n; i += 8) {
    __m256 t = _mm256_sub_ps(_mm256_setzero_ps(), _mm256_loadu_ps(x + i));
    t = _mm256_min_ps(_mm256_set1_ps(kHigh), t);
    t = _mm256_max_ps(_mm256_set1_ps(kLow), t);
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(k, _mm256_set1_ps(-kLn2Hi), t);
    r = _mm256_fmadd_ps(k, _mm256_set1_ps(-kLn2Lo), r);
    __m256 p = _mm256_set1_ps(kPoly[0]);
    for (int c = 1; c < 6; ++c) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kPoly[c]));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    const __m256 e = _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
    _mm256_storeu_ps(out + i, _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
  }
}

}  // namespace moe::kernels
