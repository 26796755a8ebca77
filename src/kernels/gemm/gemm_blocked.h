// Blocked, packed GEMM (BLIS's loop nest) shared by the ISA files, which include it after defining
// their micro-kernel; it needs AVX2 (8 x 8 transposes while packing). Everything here has internal
// linkage, so each ISA file gets its own copy built with its own flags.
//
// A is packed once per call into panels of Micro::kMr rows, k-major per k block of kKc
// (a_pack[p * kMr + i]), zero-padded. C is cut into tiles of whole row panels x kTileCols columns,
// one task each (one writer per element). A task packs its B columns per k block into panels of
// Micro::kNr columns (b_pack[p * kNr + j]; the next block's source is prefetched into L2 while this
// one computes), then runs the micro-kernel on every (B panel, A panel) pair: it keeps a kMr x kNr
// block of C in registers, loaded from C (or zero on the first k block without accumulate),
// c = fma(a, b, c) for p in order, stored back. The B panel stays in L1
// while the tile's A panels stream from L2. Ragged edges go through a kMr x kNr scratch block.
// A bf16 micro-kernel (Micro::kBf16) takes panels of bf16 k pairs instead (gemm.h's bf16 mode).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/gemm/gemm_kernels.h"

namespace moe::kernels {
namespace {

constexpr int64_t kKc = 256;         // k per block: a 32-column B panel is 32 KiB, an L1's worth
constexpr int64_t kTilePanels = 44;  // row panels per output tile at most (528 rows of 12)
constexpr int64_t kTileCols = 128;   // columns per output tile: 4 or 8 B panels; small, so that
                                     // 2816 or 1024 columns spread evenly over a few threads

// dst[j * ldd + i] = src[i * ld + j] for i, j < 8.
inline void transpose_8x8(const float* src, int64_t ld, float* dst, int64_t ldd) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld);
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // rows 0-3, then rows 4-7
    s[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int j = 0; j < 4; ++j) {
    _mm256_storeu_ps(dst + j * ldd, _mm256_permute2f128_ps(s[j], s[4 + j], 0x20));
    _mm256_storeu_ps(dst + (j + 4) * ldd, _mm256_permute2f128_ps(s[j], s[4 + j], 0x31));
  }
}

// A panel of `width` lines from a source whose lines are contiguous in p:
// dst[p * width + i] = src[i * ld + p] for i < lines, p < kc; lines .. width - 1 are zero.
void pack_transposing(float* dst, int width, const float* src, int64_t ld, int64_t lines, int64_t kc) {
  int64_t i = 0;
  for (; i + 8 <= lines; i += 8) {
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) transpose_8x8(src + i * ld + p, ld, dst + p * width + i, width);
    for (; p < kc; ++p)
      for (int64_t q = i; q < i + 8; ++q) dst[p * width + q] = src[q * ld + p];
  }
  for (; i < lines; ++i)
    for (int64_t p = 0; p < kc; ++p) dst[p * width + i] = src[i * ld + p];
  for (; i < width; ++i)
    for (int64_t p = 0; p < kc; ++p) dst[p * width + i] = 0.0f;
}

// A panel of `width` lines from a source whose lines are contiguous in the line index:
// dst[p * width + i] = src[p * ld + i] for i < lines; the rest zero.
void pack_copying(float* dst, int width, const float* src, int64_t ld, int64_t lines, int64_t kc) {
  if (lines == width && width % 8 == 0) {  // whole panels: 8-float moves inline (a library call
    for (int64_t p = 0; p < kc; ++p)       // per 128-byte line cost 5 % of a MoE layer's time)
      for (int i = 0; i < width; i += 8) _mm256_storeu_ps(dst + p * width + i, _mm256_loadu_ps(src + p * ld + i));
    return;
  }
  for (int64_t p = 0; p < kc; ++p) {
    std::memcpy(dst + p * width, src + p * ld, lines * sizeof(float));
    std::fill(dst + p * width + lines, dst + (p + 1) * width, 0.0f);
  }
}

// Calls fn(index) for index in [0, n) on the pool, or inline without one.
template <typename Fn>
void for_each_index(ThreadPool* pool, int64_t n, const Fn& fn) {
  if (pool == nullptr || n <= 1) {
    for (int64_t index = 0; index < n; ++index) fn(index);
  } else {
    pool->parallel_for(n, fn);
  }
}

// `count` runs of `floats` contiguous floats, `ld` apart: where a B block is read from.
struct Runs {
  const float* base = nullptr;
  int64_t ld = 0, count = 0, floats = 0;
};

// Walks the 64-byte lines of some Runs, prefetching them into L2 a few at a time.
class Prefetcher {
 public:
  Prefetcher(const Runs& runs, int64_t n_steps)
      : runs_(runs), per_step_((runs.count * ((runs.floats + 15) / 16) + n_steps - 1) / n_steps) {}
  void step() {
    for (int64_t i = 0; i < per_step_ && run_ < runs_.count; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(runs_.base + run_ * runs_.ld + offset_), _MM_HINT_T1);
      offset_ += 16;
      if (offset_ >= runs_.floats) {
        offset_ = 0;
        ++run_;
      }
    }
  }

 private:
  Runs runs_;
  int64_t per_step_;
  int64_t run_ = 0, offset_ = 0;
};

// A panel in the micro-kernel's format: f32 as packed, or (Micro::kBf16) packed to f32 in
// `scratch` first, then Micro::to_bf16_pairs (a bf16 panel takes at most the f32 panel's bytes).
template <class Micro>
void pack_panel(float* dst, int width, bool transposing, const float* src, int64_t ld, int64_t lines, int64_t kc,
                std::vector<float>& scratch) {
  float* f32 = Micro::kBf16 ? scratch.data() : dst;
  if (transposing)
    pack_transposing(f32, width, src, ld, lines, kc);
  else
    pack_copying(f32, width, src, ld, lines, kc);
  if constexpr (Micro::kBf16) Micro::to_bf16_pairs(dst, f32, width, kc);
}

template <class Micro>
void gemm_blocked(const GemmArgs& g, ThreadPool* pool) {
  constexpr int kMr = Micro::kMr, kNr = Micro::kNr;
  const int64_t row_panels = (g.m + kMr - 1) / kMr, m_pad = row_panels * kMr;
  // A, packed once: k block q (kc columns) at q * kKc * m_pad, row panel r of it at + r * kMr * kc.
  std::vector<float> a_pack(m_pad * g.k);
  for_each_index(pool, row_panels, [&](int64_t panel) {
    std::vector<float> scratch(Micro::kBf16 ? kMr * kKc : 0);
    const int64_t i = panel * kMr, lines = std::min<int64_t>(kMr, g.m - i);
    for (int64_t p0 = 0; p0 < g.k; p0 += kKc) {
      const int64_t kc = std::min(kKc, g.k - p0);
      float* dst = a_pack.data() + p0 * m_pad + panel * kMr * kc;
      if (g.layout == GemmLayout::kTN)
        pack_panel<Micro>(dst, kMr, false, g.a + p0 * g.lda + i, g.lda, lines, kc, scratch);
      else
        pack_panel<Micro>(dst, kMr, true, g.a + i * g.lda + p0, g.lda, lines, kc, scratch);
    }
  });
  // Output tiles of whole row panels; B is packed per tile and k block.
  const int64_t n_row_tiles = (row_panels + kTilePanels - 1) / kTilePanels;
  const int64_t tile_panels = (row_panels + n_row_tiles - 1) / n_row_tiles;
  const int64_t n_col_tiles = (g.n + kTileCols - 1) / kTileCols;
  for_each_index(pool, n_row_tiles * n_col_tiles, [&](int64_t index) {
    const int64_t first_panel = (index / n_col_tiles) * tile_panels;
    const int64_t end_panel = std::min(row_panels, first_panel + tile_panels);
    const int64_t col_begin = (index % n_col_tiles) * kTileCols, n_cols = std::min(kTileCols, g.n - col_begin);
    const int64_t col_panels = (n_cols + kNr - 1) / kNr;
    // Where the tile's B block p0 comes from: columns col_begin .. + n_cols of k rows p0 .. p0 + kKc.
    auto source = [&](int64_t p0) {
      const int64_t kc = std::min(kKc, g.k - p0);
      return g.layout == GemmLayout::kNT ? Runs{g.b + col_begin * g.ldb + p0, g.ldb, n_cols, kc}
                                         : Runs{g.b + p0 * g.ldb + col_begin, g.ldb, kc, n_cols};
    };
    std::vector<float> b_pack(col_panels * kNr * std::min(kKc, g.k));
    std::vector<float> scratch(Micro::kBf16 ? kNr * kKc : 0);
    alignas(64) float edge[kMr * kNr];
    for (int64_t p0 = 0; p0 < g.k; p0 += kKc) {
      const int64_t kc = std::min(kKc, g.k - p0);
      for (int64_t panel = 0; panel < col_panels; ++panel) {
        const int64_t j = col_begin + panel * kNr, lines = std::min<int64_t>(kNr, col_begin + n_cols - j);
        float* dst = b_pack.data() + panel * kNr * kc;
        if (g.layout == GemmLayout::kNT)
          pack_panel<Micro>(dst, kNr, true, g.b + j * g.ldb + p0, g.ldb, lines, kc, scratch);
        else
          pack_panel<Micro>(dst, kNr, false, g.b + p0 * g.ldb + j, g.ldb, lines, kc, scratch);
      }
      // The next block's source is fetched into L2 while this one computes, a slice per kernel call.
      Prefetcher prefetcher(p0 + kKc < g.k ? source(p0 + kKc) : Runs{}, col_panels * (end_panel - first_panel));
      const bool load_c = p0 > 0 || g.accumulate;
      for (int64_t col_panel = 0; col_panel < col_panels; ++col_panel) {
        const int64_t j = col_begin + col_panel * kNr, cols = std::min<int64_t>(kNr, col_begin + n_cols - j);
        const float* b = b_pack.data() + col_panel * kNr * kc;
        for (int64_t row_panel = first_panel; row_panel < end_panel; ++row_panel) {
          prefetcher.step();
          const int64_t i = row_panel * kMr, rows = std::min<int64_t>(kMr, g.m - i);
          const float* a = a_pack.data() + p0 * m_pad + row_panel * kMr * kc;
          float* c = g.c + i * g.ldc + j;
          if (rows == kMr && cols == kNr) {
            Micro::kernel(kc, a, b, c, g.ldc, load_c);
            continue;
          }
          if (load_c)
            for (int64_t r = 0; r < rows; ++r) std::memcpy(edge + r * kNr, c + r * g.ldc, cols * sizeof(float));
          Micro::kernel(kc, a, b, edge, kNr, load_c);
          for (int64_t r = 0; r < rows; ++r) std::memcpy(c + r * g.ldc, edge + r * kNr, cols * sizeof(float));
        }
      }
    }
  });
}

}  // namespace
}  // namespace moe::kernels
