// AVX2 quantization of a matmul's activations for the q8_0 / q4_0 kernels: the bytes of
// quantize_row(kQ8_0) (amax / 127 scale, round half away from zero) computed 8 lanes at a time,
// with the block's scale as the float of its fp16 and its -offset * sum q (matmul_kernels.h).
#include <immintrin.h>

#include "core/half.h"
#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {

void quantize_activations_avx2(const float* x, int64_t cols, int32_t offset, int8_t* q, float* d, int32_t* bias) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 half = _mm256_set1_ps(0.5f), minus_half = _mm256_set1_ps(-0.5f);
  for (int64_t b = 0; b < cols / 32; ++b) {
    const float* xb = x + 32 * b;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(xb + 8 * i);
      amax = _mm256_max_ps(_mm256_and_ps(v[i], abs_mask), amax);  // a NaN lane keeps amax, as the scalar test
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    const float scale = _mm_cvtss_f32(m4) / 127.0f;
    const __m256 inv = _mm256_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
    __m256i codes[4];
    __m256i sum = _mm256_setzero_si256();
    for (int i = 0; i < 4; ++i) {
      // Round half away from zero from the exact truncation and fraction; the int8 code is the low
      // byte, as the scalar cast takes it (NaN and out-of-range values included).
      const __m256 scaled = _mm256_mul_ps(v[i], inv);
      const __m256i truncated = _mm256_cvttps_epi32(scaled);
      const __m256 fraction = _mm256_sub_ps(scaled, _mm256_cvtepi32_ps(truncated));
      __m256i code = _mm256_sub_epi32(truncated, _mm256_castps_si256(_mm256_cmp_ps(fraction, half, _CMP_GE_OQ)));
      code = _mm256_add_epi32(code, _mm256_castps_si256(_mm256_cmp_ps(fraction, minus_half, _CMP_LE_OQ)));
      code = _mm256_srai_epi32(_mm256_slli_epi32(code, 24), 24);
      sum = _mm256_add_epi32(sum, code);
      codes[i] = _mm256_and_si256(code, _mm256_set1_epi32(0xff));
    }
    // Unsigned packs keep the bytes 0..255 as they are.
    const __m256i words = _mm256_packus_epi32(codes[0], codes[1]), words2 = _mm256_packus_epi32(codes[2], codes[3]);
    const __m256i bytes =
        _mm256_permutevar8x32_epi32(_mm256_packus_epi16(words, words2), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * b), bytes);
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    d[b] = f16_to_f32(f32_to_f16(scale));
    bias[b] = -offset * _mm_cvtsi128_si32(s4);
  }
}

}  // namespace moe::kernels
