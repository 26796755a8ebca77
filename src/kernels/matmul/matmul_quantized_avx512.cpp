// AVX-512 kernels of q8_0 and q4_0 weights times quantized activations, in matmul_kernels.h's
// order, from panels (matmul_panels.h): a register holds 16 rows' 4-byte quant groups, so dpbusd
// (VNNI) or maddubs + madd (BW) against one broadcast group of a token's activations adds 4
// products to each row's block sum, and a block ends with one conversion and one fma per 16
// rows. The weights of a block are unpacked once for up to 4 tokens.
// GCC 12 warns about the _mm512_undefined_*() inside its AVX-512 intrinsics (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {
namespace {

constexpr int kTokenBlock = 4;
// Calls of up to this many tokens (decode, a batch's rows of one expert) prefetch each panel's
// stream kPrefetchBytes ahead: at 4 tokens a block of 16 rows takes ~50 cycles for its 288
// bytes, so 4 KB is ~150 ns, about a memory latency, ahead.
constexpr int64_t kPrefetchTokens = 8;
constexpr int64_t kPrefetchBytes = 4096;

__m512i broadcast_group(const int8_t* x) {
  int32_t group;
  std::memcpy(&group, x, 4);
  return _mm512_set1_epi32(group);
}

// q8_0: 8 groups of signed quants. VNNI multiplies w + 128 (w xor 0x80, unsigned) by x from the
// block's -128 sum x (xq_bias); BW multiplies |w| by x negated where w < 0 (|w| <= 128 by
// |x| <= 127, twice, stays below 2^15) from 0.
template <bool kVnni>
struct Q8_0 {
  static constexpr int kGroups = 8;
  static constexpr int64_t kBlockBytes = 34;
  static constexpr bool kBias = kVnni;
  struct Weights {
    __m512i w[kGroups];
    __m512i abs[kVnni ? 1 : kGroups];
  };
  static void unpack(const std::byte* block, Weights& out) {
#pragma GCC unroll 8
    for (int j = 0; j < kGroups; ++j) {
      const __m512i w = _mm512_loadu_si512(block + 64 * j);
      if constexpr (kVnni) {
        out.w[j] = _mm512_xor_si512(w, _mm512_set1_epi8(static_cast<char>(0x80)));
      } else {
        out.w[j] = w;
        out.abs[j] = _mm512_abs_epi8(w);
      }
    }
  }
  // Adds group j's products with the token's activations x (the block's 32 quants) to p[j % 2].
  static void dot(const Weights& w, const int8_t* x, __m512i p[2]) {
#pragma GCC unroll 8
    for (int j = 0; j < kGroups; ++j) {
      const __m512i xj = broadcast_group(x + 4 * j);
      if constexpr (kVnni) {
        p[j % 2] = _mm512_dpbusd_epi32(p[j % 2], w.w[j], xj);
      } else {
        const __m512i signed_x = _mm512_mask_sub_epi8(xj, _mm512_movepi8_mask(w.w[j]), _mm512_setzero_si512(), xj);
        p[j % 2] = _mm512_add_epi32(p[j % 2],
                                    _mm512_madd_epi16(_mm512_maddubs_epi16(w.abs[j], signed_x), _mm512_set1_epi16(1)));
      }
    }
  }
};

// q4_0: 4 groups of bytes, the low nibbles columns 4 j .. 4 j + 3 and the high ones 16 + 4 j ..;
// the unsigned nibbles q times x, from the block's -8 sum x (xq_bias).
template <bool kVnni>
struct Q4_0 {
  static constexpr int kGroups = 4;
  static constexpr int64_t kBlockBytes = 18;
  static constexpr bool kBias = true;
  struct Weights {
    __m512i low[kGroups], high[kGroups];
  };
  static void unpack(const std::byte* block, Weights& out) {
    const __m512i nibble = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 8
    for (int j = 0; j < kGroups; ++j) {
      const __m512i bytes = _mm512_loadu_si512(block + 64 * j);
      out.low[j] = _mm512_and_si512(bytes, nibble);
      out.high[j] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), nibble);
    }
  }
  static __m512i dot4(__m512i p, __m512i w, __m512i x) {
    if constexpr (kVnni) return _mm512_dpbusd_epi32(p, w, x);
    return _mm512_add_epi32(p, _mm512_madd_epi16(_mm512_maddubs_epi16(w, x), _mm512_set1_epi16(1)));
  }
  static void dot(const Weights& w, const int8_t* x, __m512i p[2]) {
#pragma GCC unroll 8
    for (int j = 0; j < kGroups; ++j) {
      p[0] = dot4(p[0], w.low[j], broadcast_group(x + 4 * j));
      p[1] = dot4(p[1], w.high[j], broadcast_group(x + 16 + 4 * j));
    }
  }
};

// Tokens [t0, t0 + TB) x the kHalves panels from `first_half`: sums[t][h] of matmul_kernels.h's
// order, block after block.
template <class Fmt, int TB, int kHalves>
void run_tokens(const MatmulBlock& b, int first_half, int64_t t0, __m512 (*sums)[2]) {
  const int64_t n_blocks = b.cols / kQBlock;
  constexpr int64_t kPanelBlockBytes = 16 * Fmt::kBlockBytes;
  const std::byte* panels[kHalves];
#pragma GCC unroll 8
  for (int h = 0; h < kHalves; ++h) panels[h] = b.panels + (first_half + h) * b.panel_stride;
  __m512 acc[TB][kHalves];
#pragma GCC unroll 8
  for (int t = 0; t < TB; ++t)
#pragma GCC unroll 8
    for (int h = 0; h < kHalves; ++h) acc[t][h] = sums[t0 + t][first_half + h];
  // A panel's stream goes on in the same half of the next 32-row block (2 panels on), which a
  // decode task reads next: prefetches cross into it, so short panels (few columns) stay fed.
  const bool prefetch = b.n_tokens <= kPrefetchTokens;
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    typename Fmt::Weights w[kHalves];
    __m512 scale_w[kHalves];
#pragma GCC unroll 8
    for (int h = 0; h < kHalves; ++h) {
      const std::byte* block = panels[h] + blk * kPanelBlockBytes;
      if (prefetch) {
        const int64_t ahead = blk * kPanelBlockBytes + kPrefetchBytes;
        const std::byte* next = panels[h] + ahead + (ahead >= b.panel_stride ? b.panel_stride : 0);
        for (int64_t line = 0; line < kPanelBlockBytes; line += 64)
          _mm_prefetch(reinterpret_cast<const char*>(next + line), _MM_HINT_T0);
      }
      Fmt::unpack(block, w[h]);
      scale_w[h] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 64 * Fmt::kGroups)));
    }
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) {
      const int64_t index = (t0 + t) * n_blocks + blk;
      const int8_t* x = b.xq + (t0 + t) * b.cols + blk * kQBlock;
      const __m512 scale_x = _mm512_set1_ps(b.xq_d[index]);
#pragma GCC unroll 8
      for (int h = 0; h < kHalves; ++h) {
        __m512i p[2] = {Fmt::kBias ? _mm512_set1_epi32(b.xq_bias[index]) : _mm512_setzero_si512(),
                        _mm512_setzero_si512()};
        Fmt::dot(w[h], x, p);
        const __m512 block_sum = _mm512_cvtepi32_ps(_mm512_add_epi32(p[0], p[1]));
        acc[t][h] = _mm512_fmadd_ps(_mm512_mul_ps(scale_w[h], scale_x), block_sum, acc[t][h]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < TB; ++t)
#pragma GCC unroll 8
    for (int h = 0; h < kHalves; ++h) sums[t0 + t][first_half + h] = acc[t][h];
}

// run_tokens for the first n_tokens (<= TB) tokens from t0.
template <class Fmt, int kHalves, int TB = kTokenBlock>
void run_token_block(const MatmulBlock& b, int first_half, int64_t t0, int64_t n_tokens, __m512 (*sums)[2]) {
  if constexpr (TB > 1) {
    if (n_tokens < TB) return run_token_block<Fmt, kHalves, TB - 1>(b, first_half, t0, n_tokens, sums);
  }
  run_tokens<Fmt, TB, kHalves>(b, first_half, t0, sums);
}

// VNNI runs both panels of a 32-row block together (independent dpbusd chains); BW, whose
// unpacked q8_0 weights fill twice the registers, one panel at a time.
template <class Fmt, bool kBothHalves>
void run_quantized_block(const MatmulBlock& b) {
  __m512 sums[kMatmulMaxPanelTokens][2];
  for (int64_t t = 0; t < b.n_tokens; ++t) sums[t][0] = sums[t][1] = _mm512_setzero_ps();
  for (int64_t t0 = 0; t0 < b.n_tokens; t0 += kTokenBlock) {
    const int64_t n = b.n_tokens - t0;
    if (kBothHalves && b.n_rows > 16) {
      run_token_block<Fmt, 2>(b, 0, t0, n, sums);
    } else {
      for (int h = 0; h < 2 && 16 * h < b.n_rows; ++h) run_token_block<Fmt, 1>(b, h, t0, n, sums);
    }
  }
  const __mmask16 lo_mask = b.n_rows >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << b.n_rows) - 1);
  const __mmask16 hi_mask = b.n_rows >= 32  ? __mmask16(0xffff)
                            : b.n_rows > 16 ? static_cast<__mmask16>((1u << (b.n_rows - 16)) - 1)
                                            : 0;
  for (int64_t t = 0; t < b.n_tokens; ++t) {
    _mm512_mask_storeu_ps(b.y + t * b.ldy, lo_mask, sums[t][0]);
    _mm512_mask_storeu_ps(b.y + t * b.ldy + 16, hi_mask, sums[t][1]);
  }
}

}  // namespace

void matmul_q8_0_avx512(const MatmulBlock& block) { run_quantized_block<Q8_0<false>, false>(block); }
void matmul_q4_0_avx512(const MatmulBlock& block) { run_quantized_block<Q4_0<false>, false>(block); }
void matmul_q8_0_avx512vnni(const MatmulBlock& block) { run_quantized_block<Q8_0<true>, true>(block); }
void matmul_q4_0_avx512vnni(const MatmulBlock& block) { run_quantized_block<Q4_0<true>, true>(block); }

}  // namespace moe::kernels
