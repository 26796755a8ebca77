// AVX-512 kernels of the column-sequential order (f32, f16, bf16 weights; matmul_kernels.h): each
// output is one FMA chain over the columns in order, 16 weight rows in the 16 lanes. A block's
// weights are converted from the weight's panels (matmul_panels.h; transposed from its rows when it
// has none), a chunk of columns at a time, into an f32 panel whose column c holds the 32 rows'
// weights side by side; a micro-kernel then broadcasts one activation per token and column and
// keeps 32 rows x 12 tokens of sums in registers for the whole chunk, as a GEMM's outer product
// does. No lane tree and no partial sums spilled per vector: the sums are the reference's. Decode
// streams the panels directly, and so does prefill for f32 weights of 32 rows (the two 16-row
// panels read in place, no conversion). While a chunk is computed, the next chunk's panel lines
// and the activations a line ahead are prefetched, so that the FMAs do not wait on memory.
// GCC 12 warns about the _mm512_undefined_*() inside its AVX-512 intrinsics (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {
namespace {

constexpr int kBlockRows = kMatmulMaxRows;  // 32: two vectors of rows
static_assert(kBlockRows == 32);
// Columns per panel: 32 rows x 128 x 4 B = 16 KB stays in L1 beside 12 tokens' activations.
constexpr int64_t kChunkCols = 128;
// 2 x 12 sums + 2 weight vectors + a broadcast activation of the 32 zmm registers.
constexpr int kTokenBlock = 12;
// Blocks of at most this many tokens (decode) whose weight has panels stream them: run_direct_panels.
constexpr int64_t kDirectTokens = 2;

__mmask16 tail_mask(int64_t n) { return n >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << n) - 1); }

// Weight formats: 16 consecutive columns of a row from column c as f32 (masked lanes are 0).
struct F32 {
  static constexpr int64_t kBytes = 4;
  static __m512 load_panel(const std::byte* panel, int64_t c) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(panel) + 16 * c);
  }
  static __m512 load(const std::byte* row, int64_t c, __mmask16 mask) {
    return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(row) + c);
  }
};
struct F16 {
  static constexpr int64_t kBytes = 2;
  static __m512 load_panel(const std::byte* panel, int64_t c) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel) + c));
  }
  static __m512 load(const std::byte* row, int64_t c, __mmask16 mask) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(row) + c));
  }
};
struct BF16 {
  static constexpr int64_t kBytes = 2;
  static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static __m512 load(const std::byte* row, int64_t c, __mmask16 mask) {
    return widen(_mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(row) + c));
  }
  static __m512 load_panel(const std::byte* panel, int64_t c) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel) + c));
  }
};

#define MOE_INLINE inline __attribute__((always_inline))

// v[i] lane j <- v[j] lane i.
MOE_INLINE void transpose16(__m512 v[16]) {
  __m512 t[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; i += 4) {
#pragma GCC unroll 16
    for (int k = 0; k < 2; ++k) {
      const __m512d a = _mm512_castps_pd(t[i + k]), b = _mm512_castps_pd(t[i + k + 2]);
      v[i + 2 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      v[i + 2 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; i += 8) {
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) {
      t[i + k] = _mm512_shuffle_f32x4(v[i + k], v[i + k + 4], 0x88);
      t[i + k + 4] = _mm512_shuffle_f32x4(v[i + k], v[i + k + 4], 0xdd);
    }
  }
#pragma GCC unroll 16
  for (int k = 0; k < 8; ++k) {
    v[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
    v[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xdd);
  }
}

// v[k] = W[r0 .. r0 + 15, c + k] for k < 16 (rows past n_rows and columns past cols are 0).
template <class Fmt>
MOE_INLINE void load_columns(const MatmulBlock& b, int64_t r0, int64_t c, __m512 v[16]) {
  const __mmask16 mask = tail_mask(b.cols - c);
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    const int64_t row = r0 + i;
    v[i] = row < b.n_rows ? Fmt::load(b.w + row * b.w_stride, c, mask) : _mm512_setzero_ps();
  }
  transpose16(v);
}

// Decode from panels: each half's panel is one contiguous stream, a vector per column; the line
// kPanelPrefetchBytes ahead is prefetched as each line starts, running on into the next row
// block's panels near the end so that the stream does not restart cold at every block.
constexpr int64_t kPanelPrefetchBytes = 2048;

template <class Fmt, int TB, int kHalves>
void run_direct_panels(const MatmulBlock& b, __m512 (*sums)[2]) {
  const std::byte* panels[2] = {b.panels, b.panels + b.panel_stride};
  const std::byte* next[2] = {b.next_panels, b.next_panels ? b.next_panels + b.panel_stride : nullptr};
  const int64_t panel_bytes = 16 * Fmt::kBytes * b.cols;
  constexpr int64_t kColsPerLine = 64 / (16 * Fmt::kBytes);
  __m512 acc[TB][kHalves];
  for (int t = 0; t < TB; ++t)
    for (int h = 0; h < kHalves; ++h) acc[t][h] = sums[t][h];
  auto column = [&](int64_t c) {
#pragma GCC unroll 2
    for (int h = 0; h < kHalves; ++h) {
      const __m512 w = Fmt::load_panel(panels[h], c);
#pragma GCC unroll 2
      for (int t = 0; t < TB; ++t) acc[t][h] = _mm512_fmadd_ps(w, _mm512_set1_ps(b.x[t * b.ldx + c]), acc[t][h]);
    }
  };
  int64_t c = 0;
  for (; c + kColsPerLine <= b.cols; c += kColsPerLine) {  // a line of each half per iteration
    const int64_t ahead = 16 * Fmt::kBytes * c + kPanelPrefetchBytes;
#pragma GCC unroll 2
    for (int h = 0; h < kHalves; ++h) {
      if (ahead < panel_bytes)
        _mm_prefetch(reinterpret_cast<const char*>(panels[h] + ahead), _MM_HINT_T0);
      else if (b.next_panels != nullptr)
        _mm_prefetch(reinterpret_cast<const char*>(next[h] + ahead - panel_bytes), _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int64_t k = 0; k < kColsPerLine; ++k) column(c + k);
  }
  for (; c < b.cols; ++c) column(c);
  for (int t = 0; t < TB; ++t)
    for (int h = 0; h < kHalves; ++h) sums[t][h] = acc[t][h];
}

template <class Fmt, int TB>
void run_direct_panels(const MatmulBlock& b, __m512 (*sums)[2]) {
  if (b.n_rows > 16)
    run_direct_panels<Fmt, TB, 2>(b, sums);
  else
    run_direct_panels<Fmt, TB, 1>(b, sums);
}

// panel[c * 32 + r] = W[r, c0 + c] for c < n (rows past n_rows are 0).
template <class Fmt>
void pack_panel(const MatmulBlock& b, int64_t c0, int64_t n, float* panel) {
  if (b.panels != nullptr) {
    for (int64_t c = 0; c < n; ++c) {
      _mm512_store_ps(panel + c * kBlockRows, Fmt::load_panel(b.panels, c0 + c));
      _mm512_store_ps(panel + c * kBlockRows + 16,
                      b.n_rows > 16 ? Fmt::load_panel(b.panels + b.panel_stride, c0 + c) : _mm512_setzero_ps());
    }
    return;
  }
  for (int64_t r0 = 0; r0 < kBlockRows; r0 += 16) {
    for (int64_t c = 0; c < n; c += 16) {
      __m512 v[16];
      load_columns<Fmt>(b, r0, c0 + c, v);
      for (int k = 0; k < 16 && c + k < n; ++k) _mm512_store_ps(panel + (c + k) * kBlockRows + r0, v[k]);
    }
  }
}

// Lines of the next chunk's panels to bring into cache while a micro-kernel runs: `lines` 64-byte
// lines from each of lo and hi, spread over its columns, so that the next chunk's first pass (or
// its copy by pack_panel) does not wait on memory. Each micro-kernel of a chunk takes its share.
struct PanelPrefetch {
  const char* lo = nullptr;
  const char* hi = nullptr;
  int64_t lines = 0;
  int64_t per_segment = 1;  // pairs per 16 columns
};
// Activations are prefetched this many columns ahead (one line per token).
constexpr int64_t kXAhead = 16;

// A chunk's weights as the micro-kernel reads them: column c's rows 0..15 at lo + c * kStride,
// rows 16..31 at hi + c * kStride. kStride 32: the chunk panel pack_panel fills (hi = lo + 16);
// kStride 16: an f32 weight's own two panels, read in place.
struct Chunk {
  const float* lo;
  const float* hi;
};

// sums[t][h] += the chunk's n columns times tokens t < TB's activations from column c0.
template <int TB, int kStride>
void panel_kernel(Chunk w, int64_t n, const float* x, int64_t ldx, __m512 (*sums)[2], const PanelPrefetch& pf) {
  __m512 lo[TB], hi[TB];
#pragma GCC unroll 12
  for (int t = 0; t < TB; ++t) {
    lo[t] = sums[t][0];
    hi[t] = sums[t][1];
  }
  // 16 columns (a line of each token's activations) at a time: first the lines kXAhead columns
  // ahead and pf.per_segment pairs of the next chunk's panel lines, into L1.
  int64_t prefetched = 0;
  for (int64_t c = 0; c < n; c += 16) {
    if (c + kXAhead < n) {
#pragma GCC unroll 12
      for (int t = 0; t < TB; ++t) _mm_prefetch(reinterpret_cast<const char*>(x + t * ldx + c + kXAhead), _MM_HINT_T0);
    }
    for (int64_t i = 0; i < pf.per_segment && prefetched < pf.lines; ++i, ++prefetched) {
      _mm_prefetch(pf.lo + 64 * prefetched, _MM_HINT_T0);
      _mm_prefetch(pf.hi + 64 * prefetched, _MM_HINT_T0);
    }
    const int64_t end = std::min(n, c + 16);
    for (int64_t k = c; k < end; ++k) {
      const __m512 w_lo = _mm512_loadu_ps(w.lo + k * kStride);
      const __m512 w_hi = _mm512_loadu_ps(w.hi + k * kStride);
#pragma GCC unroll 12
      for (int t = 0; t < TB; ++t) {
        const __m512 xb = _mm512_set1_ps(x[t * ldx + k]);
        lo[t] = _mm512_fmadd_ps(w_lo, xb, lo[t]);
        hi[t] = _mm512_fmadd_ps(w_hi, xb, hi[t]);
      }
    }
  }
#pragma GCC unroll 12
  for (int t = 0; t < TB; ++t) {
    sums[t][0] = lo[t];
    sums[t][1] = hi[t];
  }
}

// panel_kernel for the first n_tokens (<= TB) tokens.
template <int kStride, int TB = kTokenBlock>
void run_tokens(Chunk w, int64_t n, const float* x, int64_t ldx, __m512 (*sums)[2], int64_t n_tokens,
                const PanelPrefetch& pf) {
  if constexpr (TB > 1) {
    if (n_tokens < TB) return run_tokens<kStride, TB - 1>(w, n, x, ldx, sums, n_tokens, pf);
  }
  panel_kernel<TB, kStride>(w, n, x, ldx, sums, pf);
}

template <class Fmt>
void run_block(const MatmulBlock& b) {
  __m512 sums[kMatmulMaxPanelTokens][2];
  for (int64_t t = 0; t < b.n_tokens; ++t) sums[t][0] = sums[t][1] = _mm512_setzero_ps();
  if (b.panels != nullptr && b.n_tokens <= kDirectTokens) {
    static_assert(kDirectTokens == 2);
    if (b.n_tokens == 1)
      run_direct_panels<Fmt, 1>(b, sums);
    else
      run_direct_panels<Fmt, 2>(b, sums);
  } else {
    alignas(64) float panel[kChunkCols * kBlockRows];
    const int64_t n_token_blocks = (b.n_tokens + kTokenBlock - 1) / kTokenBlock;
    for (int64_t c0 = 0; c0 < b.cols; c0 += kChunkCols) {
      const int64_t n = b.cols - c0 < kChunkCols ? b.cols - c0 : kChunkCols;
      // f32 panels of 32 rows are read in place, the rest converted into the chunk panel.
      const bool in_place = std::is_same_v<Fmt, F32> && b.panels != nullptr && b.n_rows > 16;
      const Chunk w = in_place ? Chunk{reinterpret_cast<const float*>(b.panels) + 16 * c0,
                                       reinterpret_cast<const float*>(b.panels + b.panel_stride) + 16 * c0}
                               : Chunk{panel, panel + 16};
      if (!in_place) pack_panel<Fmt>(b, c0, n, panel);
      // The next chunk's panel lines (the next row block's first one after the last chunk),
      // spread over this chunk's micro-kernels.
      const bool last = c0 + n == b.cols;
      const std::byte* next = last ? b.next_panels : b.panels;
      const int64_t next_c0 = last ? 0 : c0 + n;
      const int64_t next_lines =
          next != nullptr ? ((std::min(kChunkCols, b.cols - next_c0) * 16 * Fmt::kBytes) + 63) / 64 : 0;
      const int64_t lines_per_block = (next_lines + n_token_blocks - 1) / n_token_blocks;
      PanelPrefetch pf;
      if (next_lines > 0) {
        pf.lo = reinterpret_cast<const char*>(next + 16 * Fmt::kBytes * next_c0);
        pf.hi = last || b.n_rows > 16 ? pf.lo + b.panel_stride : pf.lo;
        pf.per_segment = (lines_per_block + (n + 15) / 16 - 1) / ((n + 15) / 16);
      }
      for (int64_t t0 = 0, i = 0; t0 < b.n_tokens; t0 += kTokenBlock, ++i) {
        pf.lines = std::clamp<int64_t>(next_lines - i * lines_per_block, 0, lines_per_block);
        if (in_place)
          run_tokens<16>(w, n, b.x + t0 * b.ldx + c0, b.ldx, sums + t0, b.n_tokens - t0, pf);
        else
          run_tokens<kBlockRows>(w, n, b.x + t0 * b.ldx + c0, b.ldx, sums + t0, b.n_tokens - t0, pf);
        pf.lo += 64 * pf.lines;
        pf.hi += 64 * pf.lines;
      }
    }
  }
  const __mmask16 lo_mask = tail_mask(b.n_rows);
  const __mmask16 hi_mask = b.n_rows > 16 ? tail_mask(b.n_rows - 16) : 0;
  for (int64_t t = 0; t < b.n_tokens; ++t) {
    _mm512_mask_storeu_ps(b.y + t * b.ldy, lo_mask, sums[t][0]);
    _mm512_mask_storeu_ps(b.y + t * b.ldy + 16, hi_mask, sums[t][1]);
  }
}

}  // namespace

void matmul_f32_avx512(const MatmulBlock& block) { run_block<F32>(block); }
void matmul_f16_avx512(const MatmulBlock& block) { run_block<F16>(block); }
void matmul_bf16_avx512(const MatmulBlock& block) { run_block<BF16>(block); }

}  // namespace moe::kernels
