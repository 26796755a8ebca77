// AVX2 + FMA + F16C matmul kernels of the lane-sum order (the k-quants, i8, f8_e4m3). A micro-kernel
// keeps rows x tokens accumulators of 8 lanes in registers; weights are dequantized exactly (fp16
// scale times integer) and reused across tokens; ragged columns are finished with masked loads.
// f32 / f16 / bf16 are in matmul_sequential_avx2.cpp, q8_0 / q4_0 in matmul_quantized_avx2.cpp.
#include <immintrin.h>

#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {
namespace {

// Up to 12 accumulators, a weight vector and dequantization temporaries fit the 16 ymm registers:
// 3 rows x 4 tokens, and 4 rows for fewer tokens (more independent sums per weight load).
constexpr int kTokenBlock = 4;
template <int TB>
constexpr int kRowsPerKernel = TB == 4 ? 3 : 4;
constexpr int64_t kChunkCols = 256;               // a multiple of every format's group
constexpr int64_t kPanelStride = kChunkCols + 8;  // room for a padded tail; staggers cache sets

// Kernels that stream weight rows straight from memory (decode) prefetch, while reading row r at
// byte `offset`, row r + n_rows at the same offset: the next micro-kernel's rows, one call ahead
// (as the AVX-512 kernels do; docs/PERFORMANCE.md, "Decode: software prefetch").
void prefetch(const std::byte* row, int64_t offset) {
  _mm_prefetch(reinterpret_cast<const char*>(row) + offset, _MM_HINT_T1);
}

// Groups per prefetch for groups of `bytes` (<= 64) bytes: the largest power of two whose groups
// fit a 64-byte line, so that no line of a row is skipped.
constexpr int64_t groups_per_line(int64_t bytes) {
  int64_t groups = 1;
  while (2 * groups * bytes <= 64) groups *= 2;
  return groups;
}

__m256i tail_mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }

// Weight formats: a row is a run of groups of kGroup columns, each read as kGroup / 8 vectors.
struct F32 {
  static constexpr int kGroup = 8;
  static constexpr int64_t kGroupBytes = 32;  // of a row (on average, for the block formats)
  static constexpr bool kRagged = true;       // cols need not be a multiple of kGroup
  using Group = const float*;
  static Group group(const std::byte* row, int64_t g) { return reinterpret_cast<const float*>(row) + g * kGroup; }
  static __m256 vec(Group p, int) { return _mm256_loadu_ps(p); }
  static __m256 tail(const std::byte* row, int64_t c, int, __m256i mask) {
    return _mm256_maskload_ps(reinterpret_cast<const float*>(row) + c, mask);
  }
};

// One byte per weight (i8, f8_e4m3): a group is 8 bytes; tails go through a zero-padded copy.
struct Byte8 {
  static constexpr int kGroup = 8;
  static constexpr int64_t kGroupBytes = 8;
  static constexpr bool kRagged = true;
  using Group = const uint8_t*;
  static Group group(const std::byte* row, int64_t g) { return reinterpret_cast<const uint8_t*>(row) + g * kGroup; }
  static __m128i load(Group p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); }
  static __m128i padded(const std::byte* row, int64_t c, int n) {
    alignas(16) uint8_t buf[16] = {};
    const auto* src = reinterpret_cast<const uint8_t*>(row) + c;
    for (int i = 0; i < n; ++i) buf[i] = src[i];
    return _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
  }
};

struct I8 : Byte8 {
  static __m256 widen(__m128i q) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)); }
  static __m256 vec(Group p, int) { return widen(load(p)); }
  static __m256 tail(const std::byte* row, int64_t c, int n, __m256i) { return widen(padded(row, c, n)); }
};

// e4m3 code -> fp16 bits (code & 0x80) << 8 | (code & 0x7f) << 7, the exact fp16 of value / 256
// (subnormals included, which F16C converts exactly); NaN codes get an all-ones fp16 exponent.
struct F8E4M3 : Byte8 {
  static __m256 widen(__m128i q) {
    const __m128i h = _mm_cvtepu8_epi16(q);
    const __m128i sign = _mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi16(0x80)), 8);
    const __m128i magnitude = _mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7f)), 7);
    const __m128i nan = _mm_and_si128(_mm_cmpeq_epi16(magnitude, _mm_set1_epi16(0x7f << 7)), _mm_set1_epi16(0x7c00));
    const __m128i half = _mm_or_si128(_mm_or_si128(sign, magnitude), nan);
    return _mm256_mul_ps(_mm256_cvtph_ps(half), _mm256_set1_ps(256.0f));
  }
  static __m256 vec(Group p, int) { return widen(load(p)); }
  static __m256 tail(const std::byte* row, int64_t c, int n, __m256i) { return widen(padded(row, c, n)); }
};

// Bytes 8 sub .. 8 sub + 7 of v in the low half of an xmm register.
__m128i eighth(__m256i v, int sub) {
  const __m128i half = sub < 2 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
  return sub % 2 == 0 ? half : _mm_unpackhi_epi64(half, half);
}

// 6-bit scale and min of sub-block j of a q4_K block (layout in core/dtype.h).
void q4_k_scale_min(const uint8_t* packed, int j, int& scale, int& min) {
  if (j < 4) {
    scale = packed[j] & 63;
    min = packed[j + 4] & 63;
  } else {
    scale = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
    min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}

// A group is one 32-weight sub-block, w = d_j q - m_j. d_j = d sc_j and m_j = dmin m_j are exact
// (11 by 6 bits), so is d_j q (4 bits more): the FMA rounds once, like the reference's
// subtraction. The sub-block's nibbles are isolated 32 bytes at a time.
struct Q4_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ4_K) / 8;
  static constexpr bool kRagged = false;
  struct Group {
    __m256 scale;   // d_j
    __m256 offset;  // -m_j
    __m256i q;      // byte l: q of weight l
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ4_K*>(row) + g / 8;
    const int j = static_cast<int>(g % 8);
    int scale, min;
    q4_k_scale_min(block->scales, j, scale, min);
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qs + 32 * (j / 2)));
    const __m256i q = _mm256_and_si256(_mm256_srl_epi16(bytes, _mm_cvtsi32_si128(4 * (j % 2))), _mm256_set1_epi8(0x0f));
    return {_mm256_set1_ps(_cvtsh_ss(block->d) * scale), _mm256_set1_ps(-(_cvtsh_ss(block->dmin) * min)), q};
  }
  static __m256 vec(const Group& g, int sub) {
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(eighth(g.q, sub)));
    return _mm256_fmadd_ps(q, g.scale, g.offset);
  }
};

// A group is the 32 weights whose low bits share a nibble of 32 ql bytes and whose high bits share
// a bit pair of 32 qh bytes; two sub-block scales. w = (d sc) (q - 32) is exact (11 + 8 + 6 bits).
struct Q6_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ6_K) / 8;
  static constexpr bool kRagged = false;
  struct Group {
    __m256 scale_lo;  // d sc for weights 0..15
    __m256 scale_hi;  // d sc for weights 16..31
    __m256i q;        // byte l: q - 32 of weight l
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ6_K*>(row) + g / 8;
    const int half = static_cast<int>(g % 8) / 4, quarter = static_cast<int>(g % 4);
    const __m256i ql = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->ql + 64 * half + 32 * (quarter % 2)));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qh + 32 * half));
    const __m256i low =
        _mm256_and_si256(_mm256_srl_epi16(ql, _mm_cvtsi32_si128(4 * (quarter / 2))), _mm256_set1_epi8(0x0f));
    const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * quarter)), _mm256_set1_epi8(3));
    const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), _mm256_set1_epi8(32));
    const float d = _cvtsh_ss(block->d);
    const int8_t* scales = block->scales + 8 * half + 2 * quarter;
    return {_mm256_set1_ps(d * scales[0]), _mm256_set1_ps(d * scales[1]), q};
  }
  static __m256 vec(const Group& g, int sub) {
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(eighth(g.q, sub)));
    return _mm256_mul_ps(q, sub < 2 ? g.scale_lo : g.scale_hi);
  }
};

// As Q4_K with a fifth bit from qh (bit j of byte l for weight l of sub-block j); d_j q is still
// exact (11 + 6 + 5 bits), so the FMA rounds once, like the reference.
struct Q5_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ5_K) / 8;
  static constexpr bool kRagged = false;
  using Group = Q4_K::Group;
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ5_K*>(row) + g / 8;
    const int j = static_cast<int>(g % 8);
    int scale, min;
    q4_k_scale_min(block->scales, j, scale, min);
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qs + 32 * (j / 2)));
    const __m256i low =
        _mm256_and_si256(_mm256_srl_epi16(bytes, _mm_cvtsi32_si128(4 * (j % 2))), _mm256_set1_epi8(0x0f));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qh));
    const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(j)), _mm256_set1_epi8(1));
    const __m256i q = _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
    return {_mm256_set1_ps(_cvtsh_ss(block->d) * scale), _mm256_set1_ps(-(_cvtsh_ss(block->dmin) * min)), q};
  }
  static __m256 vec(const Group& g, int sub) { return Q4_K::vec(g, sub); }
};

// The 2-bit codes of the 32 weights of group g % 8 of a q2_K / q3_K block: weight 32 k + l of a
// half (k = g % 4) is in bits 2k..2k+1 of byte l of the half's 32 bytes.
__m256i crumbs(const uint8_t* qs, int64_t g) {
  const int half = static_cast<int>(g % 8) / 4, k = static_cast<int>(g % 4);
  const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * half));
  return _mm256_and_si256(_mm256_srl_epi16(bytes, _mm_cvtsi32_si128(2 * k)), _mm256_set1_epi8(3));
}

// A group is 32 weights, two 16-weight sub-blocks i = 2 (g % 8) and i + 1, w = (d sc_i) q - dmin
// m_i: both products exact (11 + 4 + 2 and 11 + 4 bits), the FMA rounds once, like the reference.
// (kGroupBytes, 84 / 8 rounded down, only places the prefetches.)
struct Q2_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ2_K) / 8;
  static constexpr bool kRagged = false;
  struct Group {
    __m256 scale[2];   // d sc_i of weights 0..15, 16..31
    __m256 offset[2];  // -dmin m_i
    __m256i q;         // byte l: q of weight l
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ2_K*>(row) + g / 8;
    const uint8_t* sc = block->scales + 2 * (g % 8);
    const float d = _cvtsh_ss(block->d), dmin = _cvtsh_ss(block->dmin);
    return {{_mm256_set1_ps(d * (sc[0] & 0x0f)), _mm256_set1_ps(d * (sc[1] & 0x0f))},
            {_mm256_set1_ps(-(dmin * (sc[0] >> 4))), _mm256_set1_ps(-(dmin * (sc[1] >> 4)))},
            crumbs(block->qs, g)};
  }
  static __m256 vec(const Group& g, int sub) {
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(eighth(g.q, sub)));
    return _mm256_fmadd_ps(q, g.scale[sub / 2], g.offset[sub / 2]);
  }
};

// 6-bit scale s_i of sub-block i of a q3_K block (layout in core/dtype.h), minus 32.
int q3_k_scale(const uint8_t* packed, int i) {
  const int low = (packed[i % 8] >> (4 * (i / 8))) & 0x0f;
  const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// A group is 32 weights, two 16-weight sub-blocks i = 2 (g % 8) and i + 1; q = low 2 bits minus 4
// where hmask's bit g % 8 of byte l is clear. w = (d s_i) q is exact (11 + 6 + 3 bits).
// (kGroupBytes, 110 / 8 rounded down, only places the prefetches.)
struct Q3_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ3_K) / 8;
  static constexpr bool kRagged = false;
  struct Group {
    __m256 scale[2];  // d s_i of weights 0..15, 16..31
    __m256i q;        // byte l: q of weight l, -4..3
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ3_K*>(row) + g / 8;
    const int i = 2 * static_cast<int>(g % 8);
    const __m256i hmask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->hmask));
    const __m256i high =
        _mm256_and_si256(_mm256_srl_epi16(hmask, _mm_cvtsi32_si128(static_cast<int>(g % 8))), _mm256_set1_epi8(1));
    // low - 4 (1 - high) = (low | high << 2) - 4
    const __m256i q =
        _mm256_sub_epi8(_mm256_or_si256(crumbs(block->qs, g), _mm256_slli_epi16(high, 2)), _mm256_set1_epi8(4));
    const float d = _cvtsh_ss(block->d);
    return {{_mm256_set1_ps(d * q3_k_scale(block->scales, i)), _mm256_set1_ps(d * q3_k_scale(block->scales, i + 1))},
            q};
  }
  static __m256 vec(const Group& g, int sub) {
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(eighth(g.q, sub)));
    return _mm256_mul_ps(q, g.scale[sub / 2]);
  }
};

// Adds the 8 lanes in a fixed tree.
float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Micro-kernel work over one column chunk: weight rows at w + r * w_stride read from group
// w_group0 on, activations from column x_col0 on, n_groups groups and then tail_cols ragged
// columns; partial sums live in acc[r * acc_stride + t] between chunks. With prefetch, the rows
// come from memory (not a packed panel) and are prefetched.
struct Span {
  const std::byte* w;
  int64_t w_stride;
  int64_t w_group0;
  const float* x;
  int64_t ldx;
  int64_t x_col0;
  int64_t n_groups;
  int tail_cols;
  __m256* acc;
  int64_t acc_stride;
  bool prefetch;
};

// Rows [r0, r0 + RB) x tokens [t0, t0 + TB) of a span.
template <class Fmt, int RB, int TB>
void micro_kernel(const Span& s, int64_t r0, int64_t t0) {
  const std::byte* rows[RB];
  for (int r = 0; r < RB; ++r) rows[r] = s.w + (r0 + r) * s.w_stride;
  const float* x = s.x + t0 * s.ldx + s.x_col0;
  __m256* store = s.acc + r0 * s.acc_stride + t0;
  __m256 acc[RB][TB];
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) acc[r][t] = store[r * s.acc_stride + t];
  for (int64_t g = 0; g < s.n_groups; ++g) {
    const float* xg = x + g * Fmt::kGroup;
    const bool fetch = s.prefetch && (s.w_group0 + g) % groups_per_line(Fmt::kGroupBytes) == 0;
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
      if (fetch) prefetch(rows[r] + RB * s.w_stride, (s.w_group0 + g) * Fmt::kGroupBytes);
      const auto group = Fmt::group(rows[r], s.w_group0 + g);
#pragma GCC unroll 4
      for (int sub = 0; sub < Fmt::kGroup / 8; ++sub) {
        const __m256 wv = Fmt::vec(group, sub);
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t)
          acc[r][t] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xg + t * s.ldx + 8 * sub), acc[r][t]);
      }
    }
  }
  if constexpr (Fmt::kRagged) {
    if (s.tail_cols > 0) {
      const int64_t c = s.n_groups * Fmt::kGroup;
      const __m256i mask = tail_mask(s.tail_cols);
#pragma GCC unroll 8
      for (int r = 0; r < RB; ++r) {
        const __m256 wv = Fmt::tail(rows[r], s.w_group0 * Fmt::kGroup + c, s.tail_cols, mask);
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t)
          acc[r][t] = _mm256_fmadd_ps(wv, _mm256_maskload_ps(x + t * s.ldx + c, mask), acc[r][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) store[r * s.acc_stride + t] = acc[r][t];
}

// All rows of a span for tokens [t0, t0 + TB), kRowsPerKernel<TB> rows at a time.
template <class Fmt, int TB>
void run_rows(const Span& s, int64_t n_rows, int64_t t0) {
  constexpr int RB = kRowsPerKernel<TB>;
  int64_t r0 = 0;
  for (; r0 + RB <= n_rows; r0 += RB) micro_kernel<Fmt, RB, TB>(s, r0, t0);
  for (; r0 < n_rows; ++r0) micro_kernel<Fmt, 1, TB>(s, r0, t0);
}

// run_rows for the first n_tokens (<= TB) tokens from t0.
template <class Fmt, int TB = kTokenBlock>
void run_token_block(const Span& s, int64_t n_rows, int64_t t0, int64_t n_tokens) {
  if constexpr (TB > 1) {
    if (n_tokens < TB) return run_token_block<Fmt, TB - 1>(s, n_rows, t0, n_tokens);
  }
  run_rows<Fmt, TB>(s, n_rows, t0);
}

// Token micro-blocks outside, so their activations stay in L1 while the rows pass by.
template <class Fmt>
void run_span(const Span& s, int64_t n_rows, int64_t n_tokens) {
  for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenBlock) run_token_block<Fmt>(s, n_rows, t0, n_tokens - t0);
}

// Dequantizes the span's weights (zero-padded tail included) into an f32 panel, row stride
// kPanelStride.
template <class Fmt>
void pack_span(const Span& s, int64_t n_rows, float* panel) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const std::byte* row = s.w + r * s.w_stride;
    float* out = panel + r * kPanelStride;
    for (int64_t g = 0; g < s.n_groups; ++g) {
      const auto group = Fmt::group(row, s.w_group0 + g);
      for (int sub = 0; sub < Fmt::kGroup / 8; ++sub)
        _mm256_storeu_ps(out + g * Fmt::kGroup + 8 * sub, Fmt::vec(group, sub));
    }
    if constexpr (Fmt::kRagged) {
      if (s.tail_cols > 0) {
        const int64_t c = s.n_groups * Fmt::kGroup;
        _mm256_storeu_ps(out + c, Fmt::tail(row, s.w_group0 * Fmt::kGroup + c, s.tail_cols, tail_mask(s.tail_cols)));
      }
    }
  }
}

// A block with more tokens than one micro-block goes through the columns in chunks of
// kChunkCols, first dequantizing each chunk into a contiguous f32 panel: once for all the block's
// tokens, small enough to stay in L1 beside a micro-block's activations, and free of the
// cache-set conflicts of power-of-two row strides. A block of fewer tokens streams each weight
// row once, directly. Both paths multiply the same exact values in the same order: same bits.
template <class Fmt>
void run_block(const MatmulBlock& b) {
  __m256 acc[kMatmulMaxRows * kMatmulMaxTokens];
  for (int64_t i = 0; i < b.n_rows * b.n_tokens; ++i) acc[i] = _mm256_setzero_ps();
  alignas(32) float panel[kMatmulMaxRows * kPanelStride];
  const bool pack = b.n_tokens > kTokenBlock;
  const int64_t n_groups = b.cols / Fmt::kGroup;
  const int64_t chunk_groups = pack ? kChunkCols / Fmt::kGroup : n_groups;  // one chunk: one pass
  for (int64_t g_begin = 0;; g_begin += chunk_groups) {
    const int64_t g_count = n_groups - g_begin < chunk_groups ? n_groups - g_begin : chunk_groups;
    const bool last = g_begin + g_count == n_groups;
    Span span{.w = b.w,
              .w_stride = b.w_stride,
              .w_group0 = g_begin,
              .x = b.x,
              .ldx = b.ldx,
              .x_col0 = g_begin * Fmt::kGroup,
              .n_groups = g_count,
              .tail_cols = last ? static_cast<int>(b.cols - n_groups * Fmt::kGroup) : 0,
              .acc = acc,
              .acc_stride = b.n_tokens,
              .prefetch = !pack};
    if (pack) {
      pack_span<Fmt>(span, b.n_rows, panel);
      span.w = reinterpret_cast<const std::byte*>(panel);
      span.w_stride = kPanelStride * sizeof(float);
      span.w_group0 = 0;
      span.n_groups = g_count * Fmt::kGroup / F32::kGroup;
      run_span<F32>(span, b.n_rows, b.n_tokens);
    } else {
      run_span<Fmt>(span, b.n_rows, b.n_tokens);
    }
    if (last) break;
  }
  for (int64_t r = 0; r < b.n_rows; ++r)
    for (int64_t t = 0; t < b.n_tokens; ++t) b.y[t * b.ldy + r] = horizontal_sum(acc[r * b.n_tokens + t]);
}

}  // namespace

void matmul_q4_K_avx2(const MatmulBlock& block) { run_block<Q4_K>(block); }
void matmul_q6_K_avx2(const MatmulBlock& block) { run_block<Q6_K>(block); }
void matmul_q5_K_avx2(const MatmulBlock& block) { run_block<Q5_K>(block); }
void matmul_q3_K_avx2(const MatmulBlock& block) { run_block<Q3_K>(block); }
void matmul_q2_K_avx2(const MatmulBlock& block) { run_block<Q2_K>(block); }
void matmul_i8_avx2(const MatmulBlock& block) { run_block<I8>(block); }
void matmul_f8_e4m3_avx2(const MatmulBlock& block) { run_block<F8E4M3>(block); }

}  // namespace moe::kernels
