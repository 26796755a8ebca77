// AVX2 kernels of q8_0 and q4_0 weights times quantized activations, in matmul_kernels.h's order,
// from panels (matmul_panels.h): the AVX-512 scheme on 8 rows per register (a panel's 64-byte
// quant group is two registers), with maddubs + madd for the 4-product sums: q8_0 multiplies |w|
// by x signed as w, q4_0 the unsigned nibbles by x from the block's -8 sum x (xq_bias).
#include <immintrin.h>

#include <cstring>

#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {
namespace {

constexpr int kTokenBlock = 2;

__m256i broadcast_group(const int8_t* x) {
  int32_t group;
  std::memcpy(&group, x, 4);
  return _mm256_set1_epi32(group);
}

__m256i sum4(__m256i p, __m256i unsigned_w, __m256i signed_x) {
  return _mm256_add_epi32(p, _mm256_madd_epi16(_mm256_maddubs_epi16(unsigned_w, signed_x), _mm256_set1_epi16(1)));
}

struct Q8_0 {
  static constexpr int kGroups = 8;
  static constexpr int64_t kBlockBytes = 34;
  static constexpr bool kBias = false;
  // Adds the 8 rows' (at `quants`, 64 bytes per group) products with the block's activations x.
  static void dot(const std::byte* quants, const int8_t* x, __m256i p[2]) {
#pragma GCC unroll 8
    for (int j = 0; j < kGroups; ++j) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 64 * j));
      p[j % 2] = sum4(p[j % 2], _mm256_abs_epi8(w), _mm256_sign_epi8(broadcast_group(x + 4 * j), w));
    }
  }
};

struct Q4_0 {
  static constexpr int kGroups = 4;
  static constexpr int64_t kBlockBytes = 18;
  static constexpr bool kBias = true;
  static void dot(const std::byte* quants, const int8_t* x, __m256i p[2]) {
    const __m256i nibble = _mm256_set1_epi8(0x0f);
#pragma GCC unroll 8
    for (int j = 0; j < kGroups; ++j) {
      const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 64 * j));
      p[0] = sum4(p[0], _mm256_and_si256(bytes, nibble), broadcast_group(x + 4 * j));
      p[1] = sum4(p[1], _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble), broadcast_group(x + 16 + 4 * j));
    }
  }
};

// Rows 8 v .. 8 v + 7 of the block (panel v / 2, its half v % 2) x tokens [t0, t0 + TB).
template <class Fmt, int TB>
void run_tokens(const MatmulBlock& b, int v, int64_t t0, __m256 (*sums)[4]) {
  const int64_t n_blocks = b.cols / kQBlock;
  constexpr int64_t kPanelBlockBytes = 16 * Fmt::kBlockBytes;
  const std::byte* panel = b.panels + (v / 2) * b.panel_stride;
  const int64_t half = v % 2;
  __m256 acc[TB];
#pragma GCC unroll 8
  for (int t = 0; t < TB; ++t) acc[t] = sums[t0 + t][v];
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    const std::byte* block = panel + blk * kPanelBlockBytes;
    const __m256 scale_w =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 64 * Fmt::kGroups + 16 * half)));
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) {
      const int64_t index = (t0 + t) * n_blocks + blk;
      __m256i p[2] = {Fmt::kBias ? _mm256_set1_epi32(b.xq_bias[index]) : _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
      Fmt::dot(block + 32 * half, b.xq + (t0 + t) * b.cols + blk * kQBlock, p);
      const __m256 block_sum = _mm256_cvtepi32_ps(_mm256_add_epi32(p[0], p[1]));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(scale_w, _mm256_set1_ps(b.xq_d[index])), block_sum, acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < TB; ++t) sums[t0 + t][v] = acc[t];
}

template <class Fmt>
void run_quantized_block(const MatmulBlock& b) {
  __m256 sums[kMatmulMaxPanelTokens][4];
  for (int64_t t = 0; t < b.n_tokens; ++t)
    for (int v = 0; v < 4; ++v) sums[t][v] = _mm256_setzero_ps();
  for (int v = 0; v < 4 && 8 * v < b.n_rows; ++v) {
    int64_t t0 = 0;
    for (; t0 + kTokenBlock <= b.n_tokens; t0 += kTokenBlock) run_tokens<Fmt, kTokenBlock>(b, v, t0, sums);
    for (; t0 < b.n_tokens; ++t0) run_tokens<Fmt, 1>(b, v, t0, sums);
  }
  for (int64_t t = 0; t < b.n_tokens; ++t) {
    alignas(32) float row[kMatmulMaxRows];
    for (int v = 0; v < 4; ++v) _mm256_store_ps(row + 8 * v, sums[t][v]);
    std::memcpy(b.y + t * b.ldy, row, b.n_rows * sizeof(float));
  }
}

}  // namespace

void matmul_q8_0_avx2(const MatmulBlock& block) { run_quantized_block<Q8_0>(block); }
void matmul_q4_0_avx2(const MatmulBlock& block) { run_quantized_block<Q4_0>(block); }

}  // namespace moe::kernels
