// AVX-512 (F, BW, VL, DQ) matmul kernels: the AVX2 scheme on 16 lanes. A micro-kernel keeps
// rows x tokens accumulators in registers; weights are dequantized exactly (fp16 scale
// times integer) and reused across tokens; ragged columns are masked.
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
// zmm registers.
constexpr int kTokenBlock = 6;
template <int TB>
constexpr int kRowsPerKernel = 4;
constexpr int64_t kChunkCols = 256;                // a multiple of every format's group
constexpr int64_t kPanelStride = kChunkCols + 16;  // room for a padded tail; staggers cache sets

__mmask16 tail_mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }

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

struct Half16 {
  static constexpr int kGroup = 16;
  static constexpr bool kRagged = true;
  using Group = const uint16_t*;
  static Group group(const std::byte* row, int64_t g) {
    return reinterpret_cast<const uint16_t*>(row) + g * kGroup;
  }
  static __m256i load(Group p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i load_tail(const std::byte* row, int64_t c, __mmask16 mask) {
    return _mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(row) + c);
  }
};

struct F16 : Half16 {
  static __m512 vec(Group p, int) { return _mm512_cvtph_ps(load(p)); }
  static __m512 tail(const std::byte* row, int64_t c, __mmask16 mask) {
    return _mm512_cvtph_ps(load_tail(row, c, mask));
  }
};

struct BF16 : Half16 {
  static __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static __m512 vec(Group p, int) { return widen(load(p)); }
  static __m512 tail(const std::byte* row, int64_t c, __mmask16 mask) {
    return widen(load_tail(row, c, mask));
  }
};

struct Q8_0 {
  static constexpr int kGroup = 32;
  static constexpr bool kRagged = false;
  struct Group {
    __m512 d;
    const int8_t* qs;
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ8_0*>(row) + g;
    return {_mm512_set1_ps(_cvtsh_ss(block->d)), block->qs};
  }
  static __m512 vec(const Group& g, int sub) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(g.qs + 16 * sub));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), g.d);
  }
};

// A 16-entry table per block holds d (q - 8) for q = 0..15, exact since both factors fit in 24
// bits; vpermps looks weights up by the low 4 bits of each lane, so a lane holding a whole byte
// of qs yields its low nibble directly and, shifted right by 4, its high one.
struct Q4_0 {
  static constexpr int kGroup = 32;
  static constexpr bool kRagged = false;
  struct Group {
    __m512 table;
    __m512i q;  // byte j of qs in lane j: weight j in bits 0..3, weight 16 + j in bits 4..7
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ4_0*>(row) + g;
    const __m512 q_minus_8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    return {_mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(block->d)), q_minus_8),
            _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block->qs)))};
  }
  static __m512 vec(const Group& g, int sub) {
    return _mm512_permutexvar_ps(sub == 0 ? g.q : _mm512_srli_epi32(g.q, 4), g.table);
  }
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

// A group is one 32-weight sub-block; as for q4_0, a 16-entry table holds its d_j q - m_j for
// q = 0..15, each computed by one FMA of exact products (rounded once, like the reference's
// subtraction), and vpermps looks the weights up by the low 4 bits of each lane.
struct Q4_K {
  static constexpr int kGroup = 32;
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

// A group is the 32 weights whose low bits share a nibble of 32 ql bytes and whose high bits share
// a bit pair of 32 qh bytes; two sub-block scales. w = (d sc) (q - 32) is exact (11 + 8 + 6 bits).
struct Q6_K {
  static constexpr int kGroup = 32;
  static constexpr bool kRagged = false;
  struct Group {
    __m512 scale_lo;  // d sc for weights 0..15
    __m512 scale_hi;  // d sc for weights 16..31
    __m256i q;        // byte l: q - 32 of weight l
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ6_K*>(row) + g / 8;
    const int half = static_cast<int>(g % 8) / 4, quarter = static_cast<int>(g % 4);
    const __m256i ql = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(block->ql + 64 * half + 32 * (quarter % 2)));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qh + 32 * half));
    const __m256i low = _mm256_and_si256(_mm256_srl_epi16(ql, _mm_cvtsi32_si128(4 * (quarter / 2))),
                                         _mm256_set1_epi8(0x0f));
    const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * quarter)),
                                          _mm256_set1_epi8(3));
    const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)),
                                      _mm256_set1_epi8(32));
    const float d = _cvtsh_ss(block->d);
    const int8_t* scales = block->scales + 8 * half + 2 * quarter;
    return {_mm512_set1_ps(d * scales[0]), _mm512_set1_ps(d * scales[1]), q};
  }
  static __m512 vec(const Group& g, int sub) {
    const __m128i bytes =
        sub == 0 ? _mm256_castsi256_si128(g.q) : _mm256_extracti128_si256(g.q, 1);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)),
                         sub == 0 ? g.scale_lo : g.scale_hi);
  }
};

// Micro-kernel work over one column chunk: weight rows at w + r * w_stride read from group
// w_group0 on, activations from column x_col0 on, n_groups groups and then tail_cols ragged
// columns; partial sums live in acc[r * acc_stride + t] between chunks.
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
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
      const auto group = Fmt::group(rows[r], s.w_group0 + g);
#pragma GCC unroll 2
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
              .acc_stride = b.n_tokens};
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

}  // namespace

void matmul_f32_avx512(const MatmulBlock& block) { run_block<F32>(block); }
void matmul_f16_avx512(const MatmulBlock& block) { run_block<F16>(block); }
void matmul_bf16_avx512(const MatmulBlock& block) { run_block<BF16>(block); }
void matmul_q8_0_avx512(const MatmulBlock& block) { run_block<Q8_0>(block); }
void matmul_q4_0_avx512(const MatmulBlock& block) { run_block<Q4_0>(block); }
void matmul_q4_K_avx512(const MatmulBlock& block) { run_block<Q4_K>(block); }
void matmul_q6_K_avx512(const MatmulBlock& block) { run_block<Q6_K>(block); }

}  // namespace moe::kernels
