// AVX-512 GEMM: gemm_blocked.h's loop nest around a 12 x 32 micro-kernel (24 zmm
// accumulators, two B vectors per k, A broadcast from memory into the FMAs); in bf16 mode the same
// shape on AVX-512 BF16's vdpbf16ps, two k per instruction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "kernels/gemm/gemm_blocked.h"

namespace moe::kernels {
namespace {

constexpr int kTileRows = 12;  // both micro-kernels: 12 x 32 outputs in 24 zmm accumulators

// The accumulators start from C (accumulating calls) or zero, and go back to C at the end.
inline void load_tile(__m512 (&acc)[kTileRows][2], const float* c, int64_t ldc, bool load_c) {
#pragma GCC unroll 12
  for (int i = 0; i < kTileRows; ++i) {
    acc[i][0] = load_c ? _mm512_loadu_ps(c + i * ldc) : _mm512_setzero_ps();
    acc[i][1] = load_c ? _mm512_loadu_ps(c + i * ldc + 16) : _mm512_setzero_ps();
  }
}
inline void store_tile(const __m512 (&acc)[kTileRows][2], float* c, int64_t ldc) {
#pragma GCC unroll 12
  for (int i = 0; i < kTileRows; ++i) {
    _mm512_storeu_ps(c + i * ldc, acc[i][0]);
    _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
  }
}

struct Micro12x32 {
  static constexpr int kMr = kTileRows, kNr = 32;
  static constexpr bool kBf16 = false;
  static void kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool load_c) {
    __m512 acc[kMr][2];
    load_tile(acc, c, ldc, load_c);
    for (int64_t p = 0; p < kc; ++p) {
      const __m512 b0 = _mm512_loadu_ps(b + p * kNr), b1 = _mm512_loadu_ps(b + p * kNr + 16);
#pragma GCC unroll 12
      for (int i = 0; i < kMr; ++i) {
        const __m512 a_i = _mm512_set1_ps(a[p * kMr + i]);
        acc[i][0] = _mm512_fmadd_ps(a_i, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(a_i, b1, acc[i][1]);
      }
    }
    store_tile(acc, c, ldc);
  }
};

// bf16 mode: panels hold k pairs, word 2 x + h of pair q being line x's value at k = 2 q + h,
// rounded to bf16 (nearest even; an odd kc's last pair padded with 0). vdpbf16ps adds the odd
// product, then the even one, each exact and rounded once: gemm.h's order.
struct MicroBf16x12x32 {
  static constexpr int kMr = kTileRows, kNr = 32;
  static constexpr bool kBf16 = true;

  static void to_bf16_pairs(float* dst, const float* src, int width, int64_t kc) {
    alignas(64) static constexpr uint16_t kInterleave[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                                             21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                                             11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i interleave = _mm512_load_si512(kInterleave);
    auto* out = reinterpret_cast<uint16_t*>(dst);
    for (int64_t q = 0; q < (kc + 1) / 2; ++q) {
      const float* even = src + 2 * q * width;
      for (int x = 0; x < width; x += 16) {
        const int n = width - x < 16 ? width - x : 16;
        const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
        const __m512 lo = _mm512_maskz_loadu_ps(mask, even + x);
        const __m512 hi = 2 * q + 1 < kc ? _mm512_maskz_loadu_ps(mask, even + width + x) : _mm512_setzero_ps();
        const __m512i halves = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));  // lo's 16, then hi's
        const __m512i pairs = _mm512_permutexvar_epi16(interleave, halves);
        const auto pair_mask = static_cast<__mmask32>((uint64_t{1} << (2 * n)) - 1);
        _mm512_mask_storeu_epi16(out + (q * width + x) * 2, pair_mask, pairs);
      }
    }
  }

  static void kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool load_c) {
    __m512 acc[kMr][2];
    load_tile(acc, c, ldc, load_c);
    const auto* a_pairs = reinterpret_cast<const int32_t*>(a);
    for (int64_t q = 0; q < (kc + 1) / 2; ++q) {
      const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_loadu_ps(b + q * kNr));
      const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_loadu_ps(b + q * kNr + 16));
#pragma GCC unroll 12
      for (int i = 0; i < kMr; ++i) {
        const __m512bh a_i = reinterpret_cast<__m512bh>(_mm512_set1_epi32(a_pairs[q * kMr + i]));
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a_i, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a_i, b1);
      }
    }
    store_tile(acc, c, ldc);
  }
};

}  // namespace

void gemm_f32_avx512(const GemmArgs& args, ThreadPool* pool) { gemm_blocked<Micro12x32>(args, pool); }

void gemm_bf16_avx512(const GemmArgs& args, ThreadPool* pool) { gemm_blocked<MicroBf16x12x32>(args, pool); }

}  // namespace moe::kernels
