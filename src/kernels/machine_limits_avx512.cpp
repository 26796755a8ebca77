// AVX-512 kernels for the machine limits: a streaming sum (read bandwidth), independent FMA
// chains (FMA peak), the AVX2 scheme on 16 lanes, and VNNI dpbusd chains (int8 dot peak).
// GCC 12 warns about the _mm512_undefined_*() inside its AVX-512 intrinsics (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "kernels/machine_limits_kernels.h"

namespace moe::kernels {
namespace {

double lanes_sum(__m512 v) {
  alignas(64) float lanes[kFmaLanesAvx512];
  _mm512_store_ps(lanes, v);
  double sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

}  // namespace

double read_sum_avx512(const float* data, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_add_ps(acc0, _mm512_loadu_ps(data + i));
    acc1 = _mm512_add_ps(acc1, _mm512_loadu_ps(data + i + 16));
    acc2 = _mm512_add_ps(acc2, _mm512_loadu_ps(data + i + 32));
    acc3 = _mm512_add_ps(acc3, _mm512_loadu_ps(data + i + 48));
  }
  double sum = lanes_sum(acc0) + lanes_sum(acc1) + lanes_sum(acc2) + lanes_sum(acc3);
  for (; i < n; ++i) sum += data[i];
  return sum;
}

double fma_chains_avx512(int64_t iterations, float a, float b) {
  static_assert(kFmaChainsAvx512 == 12, "the loop below spells out 12 chains");
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  __m512 c0 = _mm512_set1_ps(0), c1 = _mm512_set1_ps(1), c2 = _mm512_set1_ps(2), c3 = _mm512_set1_ps(3);
  __m512 c4 = _mm512_set1_ps(4), c5 = _mm512_set1_ps(5), c6 = _mm512_set1_ps(6), c7 = _mm512_set1_ps(7);
  __m512 c8 = _mm512_set1_ps(8), c9 = _mm512_set1_ps(9), c10 = _mm512_set1_ps(10), c11 = _mm512_set1_ps(11);
  for (int64_t i = 0; i < iterations; ++i) {
    c0 = _mm512_fmadd_ps(c0, va, vb);
    c1 = _mm512_fmadd_ps(c1, va, vb);
    c2 = _mm512_fmadd_ps(c2, va, vb);
    c3 = _mm512_fmadd_ps(c3, va, vb);
    c4 = _mm512_fmadd_ps(c4, va, vb);
    c5 = _mm512_fmadd_ps(c5, va, vb);
    c6 = _mm512_fmadd_ps(c6, va, vb);
    c7 = _mm512_fmadd_ps(c7, va, vb);
    c8 = _mm512_fmadd_ps(c8, va, vb);
    c9 = _mm512_fmadd_ps(c9, va, vb);
    c10 = _mm512_fmadd_ps(c10, va, vb);
    c11 = _mm512_fmadd_ps(c11, va, vb);
  }
  return lanes_sum(c0) + lanes_sum(c1) + lanes_sum(c2) + lanes_sum(c3) + lanes_sum(c4) + lanes_sum(c5) + lanes_sum(c6) +
         lanes_sum(c7) + lanes_sum(c8) + lanes_sum(c9) + lanes_sum(c10) + lanes_sum(c11);
}

double dpbusd_chains_avx512vnni(int64_t iterations) {
  static_assert(kFmaChainsAvx512 == 12, "the loop below spells out 12 chains");
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i c[12];
  for (__m512i& chain : c) chain = _mm512_setzero_si512();
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) c[j] = _mm512_dpbusd_epi32(c[j], ones, ones);
  }
  double sum = 0;
  for (const __m512i& chain : c) {
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(lanes, chain);
    for (int32_t lane : lanes) sum += lane;
  }
  return sum;
}

}  // namespace moe::kernels
