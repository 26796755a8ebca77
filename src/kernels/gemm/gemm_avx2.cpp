// AVX2 GEMM: gemm_blocked.h's loop nest around a 6 x 16 micro-kernel (12 ymm accumulators,
// two B vectors and one broadcast A value per step).
#include "kernels/gemm/gemm_blocked.h"

namespace moe::kernels {
namespace {

struct Micro6x16 {
  static constexpr int kMr = 6, kNr = 16;
  static constexpr bool kBf16 = false;
  static void kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool load_c) {
    __m256 acc[kMr][2];
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      acc[i][0] = load_c ? _mm256_loadu_ps(c + i * ldc) : _mm256_setzero_ps();
      acc[i][1] = load_c ? _mm256_loadu_ps(c + i * ldc + 8) : _mm256_setzero_ps();
    }
    for (int64_t p = 0; p < kc; ++p) {
      const __m256 b0 = _mm256_loadu_ps(b + p * kNr), b1 = _mm256_loadu_ps(b + p * kNr + 8);
#pragma GCC unroll 6
      for (int i = 0; i < kMr; ++i) {
        const __m256 a_i = _mm256_broadcast_ss(a + p * kMr + i);
        acc[i][0] = _mm256_fmadd_ps(a_i, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(a_i, b1, acc[i][1]);
      }
    }
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      _mm256_storeu_ps(c + i * ldc, acc[i][0]);
      _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);
    }
  }
};

}  // namespace

void gemm_f32_avx2(const GemmArgs& args, ThreadPool* pool) { gemm_blocked<Micro6x16>(args, pool); }

}  // namespace moe::kernels
