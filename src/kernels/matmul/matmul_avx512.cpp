// AVX-512 (F, BW, VL, DQ) matmul kernels of the lane-sum order (the k-quants, i8, f8_e4m3): the
// AVX2 scheme on 16 lanes. A micro-kernel keeps rows x tokens accumulators in registers; weights
// are dequantized exactly (fp16 scale times integer) and reused across tokens; ragged columns are
// masked. f32 / f16 / bf16 are in matmul_sequential_avx512.cpp, q8_0 / q4_0 in
// matmul_quantized_avx512.cpp.
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
  static constexpr bool kRagged = true;       // cols need not be a multiple of kGroup
  using Group = const float*;
  static Group group(const std::byte* row, int64_t g) { return reinterpret_cast<const float*>(row) + g * kGroup; }
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
  static Group group(const std::byte* row, int64_t g) { return reinterpret_cast<const uint8_t*>(row) + g * kGroup; }
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
    const __m256i nan =
        _mm256_and_si256(_mm256_cmpeq_epi16(magnitude, _mm256_set1_epi16(0x7f << 7)), _mm256_set1_epi16(0x7c00));
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
    const __m512 table = _mm512_fmadd_ps(q_values, _mm512_set1_ps(_cvtsh_ss(block->d) * scale),
                                         _mm512_set1_ps(-(_cvtsh_ss(block->dmin) * min)));
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qs + 32 * (j / 2)));
    return {table, _mm256_srl_epi16(bytes, _mm_cvtsi32_si128(4 * (j % 2)))};
  }
  static __m512 vec(const Group& g, int sub) {
    const __m128i bytes = sub == 0 ? _mm256_castsi256_si128(g.q) : _mm256_extracti128_si256(g.q, 1);
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
    alignas(32) int8_t q[128];   // q - 32 of weight j of the half
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
                             _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits_4_5), _mm256_and_si256(qh, bits_4_5),
                             _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits_4_5)};
    Group group;
    for (int i = 0; i < 4; ++i)
      _mm256_store_si256(reinterpret_cast<__m256i*>(group.q + 32 * i),
                         _mm256_sub_epi8(_mm256_or_si256(low[i], high[i]), _mm256_set1_epi8(32)));
    const __m128i scales = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block->scales + 8 * half));
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
  static __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
};

// As Q4_K with a fifth bit from qh (bit j of byte l for weight l of sub-block j): a 32-entry table
// in two registers, looked up with vpermt2ps by the low 5 bits of each lane.
struct Q5_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ5_K) / 8;
  static constexpr bool kRagged = false;
  struct Group {
    __m512 table_lo, table_hi;  // d_j q - m_j for q = 0..15, 16..31
    __m256i q;                  // byte l: q of weight l
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ5_K*>(row) + g / 8;
    const int j = static_cast<int>(g % 8);
    int scale, min;
    q4_k_scale_min(block->scales, j, scale, min);
    const __m512 q_values = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512 d_j = _mm512_set1_ps(_cvtsh_ss(block->d) * scale);
    const __m512 m_j = _mm512_set1_ps(-(_cvtsh_ss(block->dmin) * min));
    const __m512 table_lo = _mm512_fmadd_ps(q_values, d_j, m_j);
    const __m512 table_hi = _mm512_fmadd_ps(_mm512_add_ps(q_values, _mm512_set1_ps(16)), d_j, m_j);
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qs + 32 * (j / 2)));
    const __m256i low =
        _mm256_and_si256(_mm256_srl_epi16(bytes, _mm_cvtsi32_si128(4 * (j % 2))), _mm256_set1_epi8(0x0f));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block->qh));
    const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(j)), _mm256_set1_epi8(1));
    return {table_lo, table_hi, _mm256_or_si256(low, _mm256_slli_epi16(high, 4))};
  }
  static __m512 vec(const Group& g, int sub) {
    const __m128i bytes = sub == 0 ? _mm256_castsi256_si128(g.q) : _mm256_extracti128_si256(g.q, 1);
    return _mm512_permutex2var_ps(g.table_lo, _mm512_cvtepu8_epi32(bytes), g.table_hi);
  }
};

// The 2-bit codes of the 32 weights of group g % 8 of a q2_K / q3_K block: weight 32 k + l of a
// half (k = g % 4) is in bits 2k..2k+1 of byte l of the half's 32 bytes.
__m256i crumbs(const uint8_t* qs, int64_t g) {
  const int half = static_cast<int>(g % 8) / 4, k = static_cast<int>(g % 4);
  const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * half));
  return _mm256_and_si256(_mm256_srl_epi16(bytes, _mm_cvtsi32_si128(2 * k)), _mm256_set1_epi8(3));
}

// A group is 32 weights, two 16-weight sub-blocks i = 2 (g % 8) and i + 1, one vector each:
// w = (d sc_i) q - dmin m_i, both products exact (11 + 4 + 2 and 11 + 4 bits), the FMA rounds
// once, like the reference. (kGroupBytes, 84 / 8 rounded down, only places the prefetches.)
struct Q2_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ2_K) / 8;
  static constexpr bool kRagged = false;
  struct Group {
    __m512 scale[2];   // d sc_i
    __m512 offset[2];  // -dmin m_i
    __m256i q;         // byte l: q of weight l
  };
  static Group group(const std::byte* row, int64_t g) {
    const auto* block = reinterpret_cast<const BlockQ2_K*>(row) + g / 8;
    const uint8_t* sc = block->scales + 2 * (g % 8);
    const float d = _cvtsh_ss(block->d), dmin = _cvtsh_ss(block->dmin);
    return {{_mm512_set1_ps(d * (sc[0] & 0x0f)), _mm512_set1_ps(d * (sc[1] & 0x0f))},
            {_mm512_set1_ps(-(dmin * (sc[0] >> 4))), _mm512_set1_ps(-(dmin * (sc[1] >> 4)))},
            crumbs(block->qs, g)};
  }
  static __m512 vec(const Group& g, int sub) {
    const __m128i bytes = sub == 0 ? _mm256_castsi256_si128(g.q) : _mm256_extracti128_si256(g.q, 1);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)), g.scale[sub], g.offset[sub]);
  }
};

// 6-bit scale s_i of sub-block i of a q3_K block (layout in core/dtype.h), minus 32.
int q3_k_scale(const uint8_t* packed, int i) {
  const int low = (packed[i % 8] >> (4 * (i / 8))) & 0x0f;
  const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// A group is 32 weights, two 16-weight sub-blocks i = 2 (g % 8) and i + 1, one vector each; q =
// low 2 bits minus 4 where hmask's bit g % 8 of byte l is clear. w = (d s_i) q is exact
// (11 + 6 + 3 bits). (kGroupBytes, 110 / 8 rounded down, only places the prefetches.)
struct Q3_K {
  static constexpr int kGroup = 32;
  static constexpr int64_t kGroupBytes = sizeof(BlockQ3_K) / 8;
  static constexpr bool kRagged = false;
  struct Group {
    __m512 scale[2];  // d s_i
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
    return {{_mm512_set1_ps(d * q3_k_scale(block->scales, i)), _mm512_set1_ps(d * q3_k_scale(block->scales, i + 1))},
            q};
  }
  static __m512 vec(const Group& g, int sub) {
    const __m128i bytes = sub == 0 ? _mm256_castsi256_si128(g.q) : _mm256_extracti128_si256(g.q, 1);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)), g.scale[sub]);
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
      if (fetch) prefetch_group<Fmt::kGroupBytes>(rows[r] + RB * s.w_stride, (s.w_group0 + g) * Fmt::kGroupBytes);
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
          acc[r][t] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(mask, x + t * s.ldx + c), acc[r][t]);
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
      for (int sub = 0; sub < Fmt::kGroup / 16; ++sub)
        _mm512_storeu_ps(out + g * Fmt::kGroup + 16 * sub, Fmt::vec(group, sub));
    }
    if constexpr (Fmt::kRagged) {
      if (s.tail_cols > 0) {
        const int64_t c = s.n_groups * Fmt::kGroup;
        _mm512_storeu_ps(out + c, Fmt::tail(row, s.w_group0 * Fmt::kGroup + c, tail_mask(s.tail_cols)));
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
    for (int64_t t = 0; t < b.n_tokens; ++t) b.y[t * b.ldy + r] = horizontal_sum(acc[r * b.n_tokens + t]);
}

}  // namespace

void matmul_q4_K_avx512(const MatmulBlock& block) { run_block<Q4_K>(block); }
void matmul_q6_K_avx512(const MatmulBlock& block) { run_block<Q6_K>(block); }
void matmul_q5_K_avx512(const MatmulBlock& block) { run_block<Q5_K>(block); }
void matmul_q3_K_avx512(const MatmulBlock& block) { run_block<Q3_K>(block); }
void matmul_q2_K_avx512(const MatmulBlock& block) { run_block<Q2_K>(block); }
void matmul_i8_avx512(const MatmulBlock& block) { run_block<I8>(block); }
void matmul_f8_e4m3_avx512(const MatmulBlock& block) { run_block<F8E4M3>(block); }

}  // namespace moe::kernels
