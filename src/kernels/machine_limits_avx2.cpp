// AVX2 + FMA kernels for the machine limits: a streaming sum (read bandwidth) and independent FMA
// chains (FMA peak).
#include <immintrin.h>

#include "kernels/machine_limits_kernels.h"

namespace moe::kernels {
namespace {

double lanes_sum(__m256 v) {
  alignas(32) float lanes[kFmaLanesAvx2];
  _mm256_store_ps(lanes, v);
  double sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

}  // namespace

double read_sum_avx2(const float* data, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(data + i));
    acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(data + i + 8));
    acc2 = _mm256_add_ps(acc2, _mm256_loadu_ps(data + i + 16));
    acc3 = _mm256_add_ps(acc3, _mm256_loadu_ps(data + i + 24));
  }
  double sum = lanes_sum(acc0) + lanes_sum(acc1) + lanes_sum(acc2) + lanes_sum(acc3);
  for (; i < n; ++i) sum += data[i];
  return sum;
}

double fma_chains_avx2(int64_t iterations, float a, float b) {
  static_assert(kFmaChainsAvx2 == 10, "the loop below spells out 10 chains");
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  __m256 c0 = _mm256_set1_ps(0), c1 = _mm256_set1_ps(1), c2 = _mm256_set1_ps(2), c3 = _mm256_set1_ps(3);
  __m256 c4 = _mm256_set1_ps(4), c5 = _mm256_set1_ps(5), c6 = _mm256_set1_ps(6), c7 = _mm256_set1_ps(7);
  __m256 c8 = _mm256_set1_ps(8), c9 = _mm256_set1_ps(9);
  for (int64_t i = 0; i < iterations; ++i) {
    c0 = _mm256_fmadd_ps(c0, va, vb);
    c1 = _mm256_fmadd_ps(c1, va, vb);
    c2 = _mm256_fmadd_ps(c2, va, vb);
    c3 = _mm256_fmadd_ps(c3, va, vb);
    c4 = _mm256_fmadd_ps(c4, va, vb);
    c5 = _mm256_fmadd_ps(c5, va, vb);
    c6 = _mm256_fmadd_ps(c6, va, vb);
    c7 = _mm256_fmadd_ps(c7, va, vb);
    c8 = _mm256_fmadd_ps(c8, va, vb);
    c9 = _mm256_fmadd_ps(c9, va, vb);
  }
  return lanes_sum(c0) + lanes_sum(c1) + lanes_sum(c2) + lanes_sum(c3) + lanes_sum(c4) + lanes_sum(c5) + lanes_sum(c6) +
         lanes_sum(c7) + lanes_sum(c8) + lanes_sum(c9);
}

}  // namespace moe::kernels
