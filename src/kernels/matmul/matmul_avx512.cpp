// AVX-512 (F, BW, VL, DQ; VNNI where present) matmul kernels: the AVX2 scheme on 16 lanes. A
// micro-kernel keeps rows x tokens accumulators in registers; weights are dequantized exactly
// (fp16 scale times integer) and reused across tokens; ragged columns are masked. q8_0 and q4_0
// weights take integer dot products with quantized activations instead (matmul_kernels.h).
// GCC 12 warns about the _mm512_undefined_*() inside its AVX-512 intrinsics (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {
namespace {

// 4 rows x 6 tokens of accumulators + a weight vector + dequantization temporaries fit the 32
// zmm registers. A single token (decode) takes 8 rows, so that 8 weight rows stream at once.
constexpr int kTokenBlock = 6;
template <int TB>
constexpr int kRowsPerKernel = TB == 1 ? 8 : 4;
constexpr int64_t kChunkCols = 256;                // a multiple of every format's group
constexpr int64_t kPanelStride = kChunkCols + 16;  // room for a padded tail; staggers cache sets

__mmask16 tail_mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }

// Groups per prefetch for groups of `bytes` bytes: the largest power of two whose groups fit a
// 64-byte line, so that no line of a row is skipped (groups of more than a line take one prefetch
// per line, prefetch_group).
constexpr int64_t groups_per_line(int64_t bytes) {
  int64_t groups = 1;
  while (2 * groups * bytes <= 64) groups *= 2;
  return groups;
}

// Kernels that stream weight rows straight from memory (decode) work through a few rows at once,
// and the next call takes the next rows. While reading row r at byte `offset` they prefetch row r
// + n_rows (the next call's) at the same offset, so that every line is requested one call ahead:
// the hardware prefetchers alone keep too few lines in flight, above all on rows of only a few
// lines (a q4_0 row of 1024 columns is 9 lines; docs/PERFORMANCE.md, "Decode: software prefetch").
// Into L2: the rows of one call of f16 decode, 8 x 5.6 KB at 2816 columns, would fill L1.
void prefetch(const std::byte* row, int64_t offset) {
  _mm_prefetch(reinterpret_cast<const char*>(row) + offset, _MM_HINT_T1);
}

// The lines of `bytes` (<= 128) bytes from offset: the first, the 65th and the last byte's.
template <int64_t bytes>
void prefetch_group(const std::byte* row, int64_t offset) {
  static_assert(bytes <= 128);
  prefetch(row, offset);
  if constexpr (bytes > 64) {
    prefetch(row, offset + 64);
    prefetch(row, offset + bytes - 1);
  }
}

// Adds the 16 lanes in a fixed tree.
float horizontal_sum(__m512 v) {
  const __m256 hi = _mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, 0xee));
  const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), hi);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Weight formats: a row is a run of groups of kGroup columns, each read as kGroup / 16 vectors.
struct F32 {
  static constexpr int kGroup = 16;
  static constexpr int64_t kGroupBytes = 64;  // of a row (on average, for the block formats)
  static constexpr bool kRagged = true;  // cols need not be a multiple of kGroup
  using Group = const float*;
  static Group group(const std::byte* row, int64_t g) {
    return reinterpret_cast<const float*>(row) + g * kGroup;
  }
  static __m512 vec(Group p, int) { return _mm512_loadu_ps(p); }
  static __m512 tail(const std::byte* row, int64_t c, __mmask16 mask) {
    return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(row) + c);
  }
};

// One byte per weight (i8, f8_e4m3): a group is 16 bytes; tails are masked byte loads.
struct Byte16 {
  static constexpr int kGroup = 16;
  static constexpr int64_t kGroupBytes = 16;
  static constexpr bool kRagged = true;
  using Group = const uint8_t*;
  static Group group(const std::byte* row, int64_t g) {
    return reinterpret_cast<const uint8_t*>(row) + g * kGroup;
  }
  static __m128i load(Group p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static __m128i load_tail(const std::byte* row, int64_t c, __mmask16 mask) {
    return _mm_maskz_loadu_epi8(mask, reinterpret_cast<const uint8_t*>(row) + c);
  }
};

struct I8 : Byte16 {
  static __m512 widen(__m128i q) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)); }
  static __m512 vec(Group p, int) { return widen(load(p)); }
  static __m512 tail(const std::byte* row, int64_t c, __mmask16 mask) { return widen(load_tail(row, c, mask)); }
};

// e4m3 code -> fp16 bits (code & 0x80) << 8 | (code & 0x7f) << 7, the exact fp16 of value / 256
// (subnormals included); NaN codes get an all-ones fp16 exponent.
struct F8E4M3 : Byte16 {
  static __m512 widen(__m128i q) {
    const __m256i h = _mm256_cvtepu8_epi16(q);
    const __m256i sign = _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x80)), 8);
    const __m256i magnitude = _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7f)), 7);
    const __m256i nan = _mm256_and_si256(_mm256_cmpeq_epi16(magnitude, _mm256_set1_epi16(0x7f << 7)),
                                         _mm256_set1_epi16(0x7c00));
    const __m256i half = _mm256_or_si256(_mm256_or_si256(sign, magnitude), nan);
    return _mm512_mul_ps(_mm512_cvtph_ps(half), _mm512_set1_ps(256.0f));
  }
  static __m512 vec(Group p, int) { return widen(load(p)); }
  static __m512 tail(const std::byte* row, int64_t c, __mmask16 mask) { return widen(load_tail(row, c, mask)); }
};

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

// A group is one 32-weight sub-block; a 16-entry table holds its d_j q - m_j for
// q = 0..15, each computed by one FMA of exact products (rounded once, like the reference's
// subtraction), and vpermps looks the weights up by the low 4 bits of each lane.
struct Q4_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ4_K) / 8;
  static constexpr bool kRagged = false;
  struct Group {
    __m512 table;
    __m256i q;  // byte l: q of weight l in bits 0..3 (bits 4..7 are ignored)
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ4_K*>(row) + g / 8;
    const int j = static_cast<int>(g % 8);
    int scale, min;
    q4_k_scale_min(block->scales, j, scale, min);
    const __m512 q_values = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512 table =
        _mm512_fmadd_ps(q_values, _mm512_set1_ps(_cvtsh_ss(block->d) * scale),
                        _mm512_set1_ps(-(_cvtsh_ss(block->dmin) * min)));
    const __m256i bytes =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qs + 32 * (j / 2)));
    return {table, _mm256_srl_epi16(bytes, _mm_cvtsi32_si128(4 * (j % 2)))};
  }
  static __m512 vec(const Group& g, int sub) {
    const __m128i bytes =
        sub == 0 ? _mm256_castsi256_si128(g.q) : _mm256_extracti128_si256(g.q, 1);
    return _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(bytes), g.table);
  }
};

// A group is one half of a block, 128 weights: its 6-bit codes are unpacked at once (32 weights
// per ymm: weight 32 i + l from ql byte l + 32 (i & 1) and qh bits 2i..2i+1 of byte l) into
// q - 32 bytes, and its 8 sub-block scales d sc into floats, both on the stack; each 16-weight
// vector is then a widening load, a conversion and a multiply. w = (d sc) (q - 32) is exact
// (11 + 8 + 6 bits).
struct Q6_K {
  static constexpr int kGroup = 128;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ6_K) / 2;
  static constexpr bool kRagged = false;
  struct Group {
    alignas(32) int8_t q[128];  // q - 32 of weight j of the half
    alignas(32) float scale[8];  // d sc of weights 16 j .. 16 j + 15
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ6_K*>(row) + g / 2;
    const int half = static_cast<int>(g % 2);
    const __m256i ql_a = load256(block->ql + 64 * half), ql_b = load256(block->ql + 64 * half + 32);
    const __m256i qh = load256(block->qh + 32 * half);
    const __m256i nibble = _mm256_set1_epi8(0x0f), bits_4_5 = _mm256_set1_epi8(0x30);
    // (16-bit shifts: the bits they move across bytes are masked off.)
    const __m256i low[4] = {_mm256_and_si256(ql_a, nibble), _mm256_and_si256(ql_b, nibble),
                            _mm256_and_si256(_mm256_srli_epi16(ql_a, 4), nibble),
                            _mm256_and_si256(_mm256_srli_epi16(ql_b, 4), nibble)};
    const __m256i high[4] = {_mm256_and_si256(_mm256_slli_epi16(qh, 4), bits_4_5),
                             _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits_4_5),
                             _mm256_and_si256(qh, bits_4_5),
                             _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits_4_5)};
    Group group;
    for (int i = 0; i < 4; ++i)
      _mm256_store_si256(reinterpret_cast<__m256i*>(group.q + 32 * i),
                         _mm256_sub_epi8(_mm256_or_si256(low[i], high[i]), _mm256_set1_epi8(32)));
    const __m128i scales =
        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block->scales + 8 * half));
    _mm256_store_ps(group.scale, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(scales)),
                                               _mm256_set1_ps(_cvtsh_ss(block->d))));
    return group;
  }
  static __m512 vec(const Group& g, int sub) {
    const __m128i bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(g.q + 16 * sub));
    const __m512 scales = _mm512_castps256_ps512(_mm256_load_ps(g.scale));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)),
                         _mm512_permutexvar_ps(_mm512_set1_epi32(sub), scales));
  }
  static __m256i load256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
  }
};

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
  __m512* acc;
  int64_t acc_stride;
  bool prefetch;
};

// Rows [r0, r0 + RB) x tokens [t0, t0 + TB) of a span.
template <class Fmt, int RB, int TB>
void micro_kernel(const Span& s, int64_t r0, int64_t t0) {
  const std::byte* rows[RB];
  for (int r = 0; r < RB; ++r) rows[r] = s.w + (r0 + r) * s.w_stride;
  const float* x = s.x + t0 * s.ldx + s.x_col0;
  __m512* store = s.acc + r0 * s.acc_stride + t0;
  __m512 acc[RB][TB];
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) acc[r][t] = store[r * s.acc_stride + t];
  for (int64_t g = 0; g < s.n_groups; ++g) {
    const float* xg = x + g * Fmt::kGroup;
    const bool fetch = s.prefetch && (s.w_group0 + g) % groups_per_line(Fmt::kGroupBytes) == 0;
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
      if (fetch)
        prefetch_group<Fmt::kGroupBytes>(rows[r] + RB * s.w_stride,
                                         (s.w_group0 + g) * Fmt::kGroupBytes);
      const auto group = Fmt::group(rows[r], s.w_group0 + g);
#pragma GCC unroll 8
      for (int sub = 0; sub < Fmt::kGroup / 16; ++sub) {
        const __m512 wv = Fmt::vec(group, sub);
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t)
          acc[r][t] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xg + t * s.ldx + 16 * sub), acc[r][t]);
      }
    }
  }
  if constexpr (Fmt::kRagged) {
    if (s.tail_cols > 0) {
      const int64_t c = s.n_groups * Fmt::kGroup;
      const __mmask16 mask = tail_mask(s.tail_cols);
#pragma GCC unroll 8
      for (int r = 0; r < RB; ++r) {
        const __m512 wv = Fmt::tail(rows[r], s.w_group0 * Fmt::kGroup + c, mask);
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t)
          acc[r][t] =
              _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(mask, x + t * s.ldx + c), acc[r][t]);
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
  for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenBlock)
    run_token_block<Fmt>(s, n_rows, t0, n_tokens - t0);
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
      for (int sub = 0; sub < Fmt::kGroup / 16; ++sub)
        _mm512_storeu_ps(out + g * Fmt::kGroup + 16 * sub, Fmt::vec(group, sub));
    }
    if constexpr (Fmt::kRagged) {
      if (s.tail_cols > 0) {
        const int64_t c = s.n_groups * Fmt::kGroup;
        _mm512_storeu_ps(out + c,
                         Fmt::tail(row, s.w_group0 * Fmt::kGroup + c, tail_mask(s.tail_cols)));
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
  __m512 acc[kMatmulMaxRows * kMatmulMaxTokens];
  for (int64_t i = 0; i < b.n_rows * b.n_tokens; ++i) acc[i] = _mm512_setzero_ps();
  alignas(64) float panel[kMatmulMaxRows * kPanelStride];
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
    for (int64_t t = 0; t < b.n_tokens; ++t)
      b.y[t * b.ldy + r] = horizontal_sum(acc[r * b.n_tokens + t]);
}

// Quantized activations (q8_0, q4_0 weights): the canonical order of matmul_kernels.h. q8_0 has
// two weight rows per register: the low 8 lanes hold row r's p_0..p_7, the high 8 lanes row
// r + 1's, against the token's activation block broadcast to both halves; q4_0 has four (Q4_0Quad
// below). With VNNI, dpbusd adds the 4 products of a lane in one instruction; without, maddubs +
// madd give the same integers.
constexpr int kQTokenBlock = 8;
template <int TB>
constexpr int kQPairsPerKernel = TB == 1 ? 4 : 2;
constexpr int64_t kQChunkBlocks = 16;  // 512 columns: a tile's weights and activations stay in L1

// The same tree as the AVX2 kernels' horizontal_sum over 8 lanes.
float horizontal_sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// d0 in the low 8 lanes, d1 in the high 8 (fp16 scales of two rows).
__m512 pair_scale(uint16_t d0, uint16_t d1) {
  const __m128 d = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d0 | (d1 << 16))));
  const __m512i index = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  return _mm512_permutexvar_ps(index, _mm512_castps128_ps512(d));
}

// Two 32-byte halves, lo and hi.
__m512i join(const void* lo, const void* hi) {
  return _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(static_cast<const __m256i*>(lo))),
      _mm256_loadu_si256(static_cast<const __m256i*>(hi)), 1);
}

// One token's activation block, in both halves.
struct QAct {
  __m512i q;
  __m512i bias;  // q4_0 only
  __m512 d;
};

// q8_0. VNNI: dpbusd wants unsigned by signed bytes, so it multiplies w + 128 (w xor 0x80) by x,
// starting from the activations' -128 sum x (xq_bias). BW: sign(x, w) as a masked negation, times
// |w| by maddubs (|w| <= 128 by |x| <= 127, twice, stays below 2^15).
template <bool kVnni>
struct Q8_0Int {
  static constexpr bool kBias = kVnni;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);
  struct Row {
    __m512i w;    // VNNI: w + 128 as unsigned bytes; BW: w
    __m512i abs;  // BW: |w|
    __mmask64 negative;
    __m512 d;
  };
  static Row row(const std::byte* row0, const std::byte* row1, int64_t b) {
    const auto* b0 = reinterpret_cast<const BlockQ8_0*>(row0) + b;
    const auto* b1 = reinterpret_cast<const BlockQ8_0*>(row1) + b;
    const __m512i w = join(b0->qs, b1->qs);
    if constexpr (kVnni) {
      return {_mm512_xor_si512(w, _mm512_set1_epi8(static_cast<char>(0x80))), w, 0,
              pair_scale(b0->d, b1->d)};
    } else {
      return {w, _mm512_abs_epi8(w), _mm512_movepi8_mask(w), pair_scale(b0->d, b1->d)};
    }
  }
  static __m512i dot(const Row& r, const QAct& x) {
    if constexpr (kVnni) {
      return _mm512_dpbusd_epi32(x.bias, r.w, x.q);
    } else {
      const __m512i signed_x = _mm512_mask_sub_epi8(x.q, r.negative, _mm512_setzero_si512(), x.q);
      return _mm512_madd_epi16(_mm512_maddubs_epi16(r.abs, signed_x), _mm512_set1_epi16(1));
    }
  }
};

// Blocks [block0, block0 + n_blocks) of a tile; partial sums live in acc[r * acc_stride + t].
// With prefetch, the span is whole rows streamed once (decode) and they are prefetched.
struct QSpan {
  const MatmulBlock* b;
  int64_t block0;
  int64_t n_blocks;
  __m256* acc;
  int64_t acc_stride;
  bool prefetch;
};

// Row pairs [r0, r0 + 2 RP) x tokens [t0, t0 + TB) of a span. With single_row, one row r0 only:
// it fills both halves, and the high one is dropped.
template <class Fmt, int RP, int TB, bool single_row = false>
void q_micro_kernel(const QSpan& s, int64_t r0, int64_t t0) {
  const MatmulBlock& b = *s.b;
  const int64_t n_blocks_total = b.cols / kQBlock;
  constexpr int kRows = single_row ? 1 : 2 * RP;
  const std::byte* rows[2 * RP];
  for (int r = 0; r < 2 * RP; ++r) rows[r] = b.w + (r0 + (single_row ? 0 : r)) * b.w_stride;
  __m256* store = s.acc + r0 * s.acc_stride + t0;
  __m512 acc[RP][TB];
#pragma GCC unroll 8
  for (int p = 0; p < RP; ++p)
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) {
      const __m256 lo = store[2 * p * s.acc_stride + t];
      const __m256 hi = kRows == 1 ? lo : store[(2 * p + 1) * s.acc_stride + t];
      acc[p][t] = _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
    }
  for (int64_t blk = s.block0; blk < s.block0 + s.n_blocks; ++blk) {
    if (s.prefetch && blk % groups_per_line(Fmt::kBlockBytes) == 0) {
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r)
        prefetch(rows[r] + kRows * b.w_stride, blk * Fmt::kBlockBytes);
    }
    typename Fmt::Row row[RP];
#pragma GCC unroll 8
    for (int p = 0; p < RP; ++p) row[p] = Fmt::row(rows[2 * p], rows[2 * p + 1], blk);
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) {
      const int64_t index = (t0 + t) * n_blocks_total + blk;
      QAct x;
      x.q = _mm512_broadcast_i64x4(_mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(b.xq + (t0 + t) * b.cols + blk * kQBlock)));
      x.d = _mm512_set1_ps(b.xq_d[index]);
      if constexpr (Fmt::kBias)
        x.bias = _mm512_broadcast_i64x4(_mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(b.xq_bias + index * kQuadsPerBlock)));
#pragma GCC unroll 8
      for (int p = 0; p < RP; ++p)
        acc[p][t] = _mm512_fmadd_ps(_mm512_mul_ps(row[p].d, x.d),
                                    _mm512_cvtepi32_ps(Fmt::dot(row[p], x)), acc[p][t]);
    }
  }
#pragma GCC unroll 8
  for (int p = 0; p < RP; ++p)
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) {
      store[2 * p * s.acc_stride + t] = _mm512_castps512_ps256(acc[p][t]);
      if (kRows > 1) store[(2 * p + 1) * s.acc_stride + t] = _mm512_extractf32x8_ps(acc[p][t], 1);
    }
}

// q4_0: four rows per register. Quarter i of `low` holds row i's 16 low nibbles (columns 0..15
// of the block), quarter i of `high` its high nibbles (columns 16..31), and the token's
// activations and xq_bias are broadcast to the four quarters to match: one nibble split and one
// scale conversion serve four rows, and the integer sums of row i are p_0..p_3 in quarter i of
// one register and p_4..p_7 in the other. VNNI: dpbusd of the unsigned nibbles by x, from the
// -8 sum x of xq_bias; BW: maddubs + madd, then the bias.
template <bool kVnni>
struct Q4_0Quad {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_0);
  struct Rows {
    __m512i low, high;
    __m512 d;  // d of row i in quarter i
  };
  struct Act {
    __m512i low, high, bias_low, bias_high;
    __m512 d;
  };
  // Rows first + i (i < 4, at most last) of the block at `block` in row 0, rows `stride` apart.
  static Rows rows(const std::byte* block, int64_t stride, int first, int last) {
    const BlockQ4_0* blocks[4];
    for (int i = 0; i < 4; ++i)
      blocks[i] = reinterpret_cast<const BlockQ4_0*>(
          block + (first + i < last ? first + i : last) * stride);
    __m512i bytes = _mm512_castsi128_si512(load128(blocks[0]->qs));
    bytes = _mm512_inserti32x4(bytes, load128(blocks[1]->qs), 1);
    bytes = _mm512_inserti32x4(bytes, load128(blocks[2]->qs), 2);
    bytes = _mm512_inserti32x4(bytes, load128(blocks[3]->qs), 3);
    const __m512i nibble = _mm512_set1_epi8(0x0f);
    const uint64_t d = blocks[0]->d | static_cast<uint64_t>(blocks[1]->d) << 16 |
                       static_cast<uint64_t>(blocks[2]->d) << 32 |
                       static_cast<uint64_t>(blocks[3]->d) << 48;
    const __m128 d4 = _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(d)));
    const __m512i quarter = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return {_mm512_and_si512(bytes, nibble),
            _mm512_and_si512(_mm512_srli_epi16(bytes, 4), nibble),
            _mm512_permutexvar_ps(quarter, _mm512_castps128_ps512(d4))};
  }
  // A token's activation block: its q, xq_bias and xq_d.
  static Act act(const int8_t* q, const int32_t* bias, const float* d) {
    return {_mm512_broadcast_i32x4(load128(q)), _mm512_broadcast_i32x4(load128(q + 16)),
            _mm512_broadcast_i32x4(load128(bias)), _mm512_broadcast_i32x4(load128(bias + 4)),
            _mm512_set1_ps(*d)};
  }
  static __m512i dot(__m512i w, __m512i x, __m512i bias) {
    if constexpr (kVnni) {
      return _mm512_dpbusd_epi32(bias, w, x);
    } else {
      return _mm512_add_epi32(_mm512_madd_epi16(_mm512_maddubs_epi16(w, x), _mm512_set1_epi16(1)),
                              bias);
    }
  }
  static __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
};

// Rows [r0, r0 + kRows) x tokens [t0, t0 + TB) of a q4_0 span, in quads of rows (a short last
// quad repeats row r0 + kRows - 1 and drops it). Block addresses are row r0's plus multiples of
// the row stride, so that the loop keeps two pointers, not one per row.
template <class Fmt, int kRows, int TB>
void q4_micro_kernel(const QSpan& s, int64_t r0, int64_t t0) {
  constexpr int RQ = (kRows + 3) / 4;
  const MatmulBlock& b = *s.b;
  const int64_t stride = b.w_stride, n_blocks = b.cols / kQBlock;
  const std::byte* w = b.w + r0 * stride + s.block0 * Fmt::kBlockBytes;
  const int8_t* xq = b.xq + t0 * b.cols + s.block0 * kQBlock;
  const int64_t x_index = t0 * n_blocks + s.block0;
  const float* xd = b.xq_d + x_index;
  const int32_t* xbias = b.xq_bias + x_index * kQuadsPerBlock;
  __m256* store = s.acc + r0 * s.acc_stride + t0;
  __m512 acc_low[RQ][TB], acc_high[RQ][TB];  // quarter i: row 4 q + i's lanes 0..3, 4..7
  alignas(64) float low[16], high[16];
  for (int q = 0; q < RQ; ++q)
    for (int t = 0; t < TB; ++t) {
      for (int i = 0; i < 4; ++i) {
        const __m256 a =
            4 * q + i < kRows ? store[(4 * q + i) * s.acc_stride + t] : _mm256_setzero_ps();
        _mm_store_ps(low + 4 * i, _mm256_castps256_ps128(a));
        _mm_store_ps(high + 4 * i, _mm256_extractf128_ps(a, 1));
      }
      acc_low[q][t] = _mm512_load_ps(low);
      acc_high[q][t] = _mm512_load_ps(high);
    }
  for (int64_t blk = 0; blk < s.n_blocks; ++blk, w += Fmt::kBlockBytes) {
    if (s.prefetch && (s.block0 + blk) % groups_per_line(Fmt::kBlockBytes) == 0) {
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) prefetch(w, (kRows + r) * stride);
    }
    typename Fmt::Rows rows[RQ];
#pragma GCC unroll 8
    for (int q = 0; q < RQ; ++q) rows[q] = Fmt::rows(w, stride, 4 * q, kRows - 1);
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) {
      const typename Fmt::Act x =
          Fmt::act(xq + t * b.cols + blk * kQBlock, xbias + (t * n_blocks + blk) * kQuadsPerBlock,
                   xd + t * n_blocks + blk);
#pragma GCC unroll 8
      for (int q = 0; q < RQ; ++q) {
        const __m512 scale = _mm512_mul_ps(rows[q].d, x.d);
        acc_low[q][t] = _mm512_fmadd_ps(
            scale, _mm512_cvtepi32_ps(Fmt::dot(rows[q].low, x.low, x.bias_low)), acc_low[q][t]);
        acc_high[q][t] = _mm512_fmadd_ps(
            scale, _mm512_cvtepi32_ps(Fmt::dot(rows[q].high, x.high, x.bias_high)),
            acc_high[q][t]);
      }
    }
  }
  for (int q = 0; q < RQ; ++q)
    for (int t = 0; t < TB; ++t) {
      _mm512_store_ps(low, acc_low[q][t]);
      _mm512_store_ps(high, acc_high[q][t]);
      for (int i = 0; i < 4 && 4 * q + i < kRows; ++i)
        store[(4 * q + i) * s.acc_stride + t] =
            _mm256_set_m128(_mm_load_ps(high + 4 * i), _mm_load_ps(low + 4 * i));
    }
}

// All rows of a q4_0 span for tokens [t0, t0 + TB): 8 rows at a time for one token, else 4.
template <class Fmt, int TB>
void q4_run_rows(const QSpan& s, int64_t n_rows, int64_t t0) {
  constexpr int RQ = TB == 1 ? 2 : 1;
  int64_t r0 = 0;
  for (; r0 + 4 * RQ <= n_rows; r0 += 4 * RQ) q4_micro_kernel<Fmt, 4 * RQ, TB>(s, r0, t0);
  for (; r0 + 4 <= n_rows; r0 += 4) q4_micro_kernel<Fmt, 4, TB>(s, r0, t0);
  switch (n_rows - r0) {
    case 3:
      return q4_micro_kernel<Fmt, 3, TB>(s, r0, t0);
    case 2:
      return q4_micro_kernel<Fmt, 2, TB>(s, r0, t0);
    case 1:
      return q4_micro_kernel<Fmt, 1, TB>(s, r0, t0);
  }
}

template <class Fmt, int TB>
void q_run_rows(const QSpan& s, int64_t n_rows, int64_t t0) {
  if constexpr (requires { typename Fmt::Rows; }) {
    q4_run_rows<Fmt, TB>(s, n_rows, t0);
  } else {
    constexpr int RP = kQPairsPerKernel<TB>;
    int64_t r0 = 0;
    for (; r0 + 2 * RP <= n_rows; r0 += 2 * RP) q_micro_kernel<Fmt, RP, TB>(s, r0, t0);
    for (; r0 + 2 <= n_rows; r0 += 2) q_micro_kernel<Fmt, 1, TB>(s, r0, t0);
    if (r0 < n_rows) q_micro_kernel<Fmt, 1, TB, true>(s, r0, t0);
  }
}

template <class Fmt, int TB = kQTokenBlock>
void q_run_token_block(const QSpan& s, int64_t n_rows, int64_t t0, int64_t n_tokens) {
  if constexpr (TB > 1) {
    if (n_tokens < TB) return q_run_token_block<Fmt, TB - 1>(s, n_rows, t0, n_tokens);
  }
  q_run_rows<Fmt, TB>(s, n_rows, t0);
}

// Blocks of more tokens than one micro-block go through the columns in chunks, so that the
// chunk's weights stay in L1 while the token micro-blocks pass by; the order of the float
// operations per (row, token) is the same either way.
template <class Fmt>
void run_quantized_block(const MatmulBlock& b) {
  __m256 acc[kMatmulMaxRows * kMatmulMaxTokens];
  for (int64_t i = 0; i < b.n_rows * b.n_tokens; ++i) acc[i] = _mm256_setzero_ps();
  const int64_t n_blocks = b.cols / kQBlock;
  const int64_t chunk = b.n_tokens > kQTokenBlock ? kQChunkBlocks : n_blocks;
  for (int64_t begin = 0; begin < n_blocks; begin += chunk) {
    const QSpan span{.b = &b,
                     .block0 = begin,
                     .n_blocks = n_blocks - begin < chunk ? n_blocks - begin : chunk,
                     .acc = acc,
                     .acc_stride = b.n_tokens,
                     .prefetch = chunk == n_blocks};
    for (int64_t t0 = 0; t0 < b.n_tokens; t0 += kQTokenBlock)
      q_run_token_block<Fmt>(span, b.n_rows, t0, b.n_tokens - t0);
  }
  for (int64_t r = 0; r < b.n_rows; ++r)
    for (int64_t t = 0; t < b.n_tokens; ++t)
      b.y[t * b.ldy + r] = horizontal_sum8(acc[r * b.n_tokens + t]);
}

}  // namespace

void matmul_q8_0_avx512(const MatmulBlock& block) { run_quantized_block<Q8_0Int<false>>(block); }
void matmul_q4_0_avx512(const MatmulBlock& block) { run_quantized_block<Q4_0Quad<false>>(block); }
void matmul_q8_0_avx512vnni(const MatmulBlock& block) {
  run_quantized_block<Q8_0Int<true>>(block);
}
void matmul_q4_0_avx512vnni(const MatmulBlock& block) {
  run_quantized_block<Q4_0Quad<true>>(block);
}
void matmul_q4_K_avx512(const MatmulBlock& block) { run_block<Q4_K>(block); }
void matmul_q6_K_avx512(const MatmulBlock& block) { run_block<Q6_K>(block); }
void matmul_i8_avx512(const MatmulBlock& block) { run_block<I8>(block); }
void matmul_f8_e4m3_avx512(const MatmulBlock& block) { run_block<F8E4M3>(block); }

}  // namespace moe::kernels
