// AVX2 kernels of the column-sequential order (f32, f16, bf16 weights; matmul_kernels.h): the
// AVX-512 scheme on 8 lanes. A block's 32 weight rows are transposed, 128 columns at a time, into
// a panel whose column c holds the 32 rows side by side; a micro-kernel broadcasts one activation
// per token and column into 16 rows x 6 tokens of sums. Weights in panels (matmul_panels.h) are
// read without the transposes: decode streams them, prefill copies a chunk.
#include <immintrin.h>

#include <cstring>

#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {
namespace {

#define MOE_INLINE inline __attribute__((always_inline))

constexpr int kBlockRows = kMatmulMaxRows;  // 32: four vectors of rows
static_assert(kBlockRows == 32);
constexpr int64_t kChunkCols = 128;  // a 16 KB panel
// 2 x 6 sums + 2 weight vectors + a broadcast activation of the 16 ymm registers.
constexpr int kTokenBlock = 6;

// Weight formats: 8 consecutive columns of a row from column c as f32, n < 8 of them at a row's
// end (the rest 0). AVX2 has no masked 16-bit load: short tails go through a padded copy.
struct F32 {
  static constexpr int64_t kBytes = 4;
  // Rows 8 k .. 8 k + 7 of column c of a panel (matmul_panels.h).
  static __m256 load_panel(const std::byte* panel, int64_t c, int k) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(panel) + 16 * c + 8 * k);
  }
  static __m256 load(const std::byte* row, int64_t c, int64_t n) {
    const float* p = reinterpret_cast<const float*>(row) + c;
    if (n >= 8) return _mm256_loadu_ps(p);
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(p, mask);
  }
};

MOE_INLINE __m128i load_halves(const std::byte* row, int64_t c, int64_t n) {
  const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + c;
  if (n >= 8) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  uint16_t padded[8] = {};
  std::memcpy(padded, p, n * sizeof(uint16_t));
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(padded));
}

MOE_INLINE __m128i load_panel_halves(const std::byte* panel, int64_t c, int k) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(panel) + 2 * c + k);
}

struct F16 {
  static constexpr int64_t kBytes = 2;
  static __m256 load_panel(const std::byte* panel, int64_t c, int k) {
    return _mm256_cvtph_ps(load_panel_halves(panel, c, k));
  }
  static __m256 load(const std::byte* row, int64_t c, int64_t n) { return _mm256_cvtph_ps(load_halves(row, c, n)); }
};
struct BF16 {
  static constexpr int64_t kBytes = 2;
  static __m256 widen(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
  static __m256 load_panel(const std::byte* panel, int64_t c, int k) { return widen(load_panel_halves(panel, c, k)); }
  static __m256 load(const std::byte* row, int64_t c, int64_t n) { return widen(load_halves(row, c, n)); }
};

// v[i] lane j <- v[j] lane i.
MOE_INLINE void transpose8(__m256 v[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
#pragma GCC unroll 8
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
    v[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
  }
}

// Decode from panels (matmul_panels.h): four 8-row streams of sums, one vector load per column and
// stream, the line kPrefetchBytes ahead requested as each line starts.
constexpr int64_t kPrefetchBytes = 2048;

template <class Fmt, int TB>
void run_direct_panels(const MatmulBlock& b, __m256 (*sums)[4]) {
  const int n_vectors = b.n_rows > 16 ? 4 : 2;
  constexpr int64_t kColsPerLine = 64 / (16 * Fmt::kBytes);
  __m256 acc[TB][4];
  for (int t = 0; t < TB; ++t)
    for (int v = 0; v < 4; ++v) acc[t][v] = sums[t][v];
  for (int64_t c = 0; c < b.cols; ++c) {
    if (c % kColsPerLine == 0)
      for (int p = 0; p < n_vectors / 2; ++p)
        _mm_prefetch(
            reinterpret_cast<const char*>(b.panels + p * b.panel_stride + 16 * Fmt::kBytes * c + kPrefetchBytes),
            _MM_HINT_T0);
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      if (v >= n_vectors) break;
      const __m256 w = Fmt::load_panel(b.panels + (v / 2) * b.panel_stride, c, v % 2);
#pragma GCC unroll 2
      for (int t = 0; t < TB; ++t) acc[t][v] = _mm256_fmadd_ps(w, _mm256_broadcast_ss(b.x + t * b.ldx + c), acc[t][v]);
    }
  }
  for (int t = 0; t < TB; ++t)
    for (int v = 0; v < 4; ++v) sums[t][v] = acc[t][v];
}

// panel[c * 32 + r] = W[r, c0 + c] for c < n (rows past n_rows are 0).
template <class Fmt>
void pack_panel(const MatmulBlock& b, int64_t c0, int64_t n, float* panel) {
  if (b.panels != nullptr) {
    for (int64_t c = 0; c < n; ++c)
      for (int v = 0; v < 4; ++v)
        _mm256_store_ps(panel + c * kBlockRows + 8 * v,
                        8 * v < b.n_rows ? Fmt::load_panel(b.panels + (v / 2) * b.panel_stride, c0 + c, v % 2)
                                         : _mm256_setzero_ps());
    return;
  }
  for (int64_t r0 = 0; r0 < kBlockRows; r0 += 8) {
    for (int64_t c = 0; c < n; c += 8) {
      __m256 v[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i)
        v[i] = r0 + i < b.n_rows ? Fmt::load(b.w + (r0 + i) * b.w_stride, c0 + c, n - c) : _mm256_setzero_ps();
      transpose8(v);
      for (int k = 0; k < 8 && c + k < n; ++k) _mm256_store_ps(panel + (c + k) * kBlockRows + r0, v[k]);
    }
  }
}

// sums[t][0], sums[t][1] (rows 16 h .. 16 h + 15 of the panel at w = panel + 16 h) += the
// panel's n columns times tokens t < TB's activations.
template <int TB>
void panel_kernel(const float* w, int64_t n, const float* x, int64_t ldx, __m256* sums, int64_t sums_stride) {
  __m256 lo[TB], hi[TB];
#pragma GCC unroll 6
  for (int t = 0; t < TB; ++t) {
    lo[t] = sums[t * sums_stride];
    hi[t] = sums[t * sums_stride + 1];
  }
  for (int64_t c = 0; c < n; ++c) {
    const __m256 w_lo = _mm256_load_ps(w + c * kBlockRows);
    const __m256 w_hi = _mm256_load_ps(w + c * kBlockRows + 8);
#pragma GCC unroll 6
    for (int t = 0; t < TB; ++t) {
      const __m256 xb = _mm256_broadcast_ss(x + t * ldx + c);
      lo[t] = _mm256_fmadd_ps(w_lo, xb, lo[t]);
      hi[t] = _mm256_fmadd_ps(w_hi, xb, hi[t]);
    }
  }
#pragma GCC unroll 6
  for (int t = 0; t < TB; ++t) {
    sums[t * sums_stride] = lo[t];
    sums[t * sums_stride + 1] = hi[t];
  }
}

// panel_kernel for the first n_tokens (<= TB) tokens.
template <int TB = kTokenBlock>
void run_tokens(const float* w, int64_t n, const float* x, int64_t ldx, __m256* sums, int64_t n_tokens) {
  if constexpr (TB > 1) {
    if (n_tokens < TB) return run_tokens<TB - 1>(w, n, x, ldx, sums, n_tokens);
  }
  panel_kernel<TB>(w, n, x, ldx, sums, 4);
}

template <class Fmt>
void run_block(const MatmulBlock& b) {
  __m256 sums[kMatmulMaxPanelTokens][4];
  for (int64_t t = 0; t < b.n_tokens; ++t)
    for (int k = 0; k < 4; ++k) sums[t][k] = _mm256_setzero_ps();
  alignas(32) float panel[kChunkCols * kBlockRows];
  if (b.panels != nullptr && b.n_tokens <= 2) {
    if (b.n_tokens == 1)
      run_direct_panels<Fmt, 1>(b, sums);
    else
      run_direct_panels<Fmt, 2>(b, sums);
  }
  for (int64_t c0 = 0; c0 < b.cols && !(b.panels != nullptr && b.n_tokens <= 2); c0 += kChunkCols) {
    const int64_t n = b.cols - c0 < kChunkCols ? b.cols - c0 : kChunkCols;
    pack_panel<Fmt>(b, c0, n, panel);
    for (int h = 0; h < 2 && 16 * h < b.n_rows; ++h)
      for (int64_t t0 = 0; t0 < b.n_tokens; t0 += kTokenBlock)
        run_tokens(panel + 16 * h, n, b.x + t0 * b.ldx + c0, b.ldx, &sums[t0][2 * h], b.n_tokens - t0);
  }
  for (int64_t t = 0; t < b.n_tokens; ++t) {
    alignas(32) float row[kBlockRows];
    for (int k = 0; k < 4; ++k) _mm256_store_ps(row + 8 * k, sums[t][k]);
    std::memcpy(b.y + t * b.ldy, row, b.n_rows * sizeof(float));
  }
}

}  // namespace

void matmul_f32_avx2(const MatmulBlock& block) { run_block<F32>(block); }
void matmul_f16_avx2(const MatmulBlock& block) { run_block<F16>(block); }
void matmul_bf16_avx2(const MatmulBlock& block) { run_block<BF16>(block); }

}  // namespace moe::kernels
