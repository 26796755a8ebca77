// Reference GEMM: the defining fma chain of gemm.h in plain single-threaded loops (the truth in
// tests).
#include <cmath>

#include "core/half.h"

#include "kernels/gemm/gemm_kernels.h"

namespace moe::kernels {

void gemm_f32_ref(const GemmArgs& args, ThreadPool*) {
  const bool a_transposed = args.layout == GemmLayout::kTN;
  const bool b_transposed = args.layout == GemmLayout::kNT;
  for (int64_t i = 0; i < args.m; ++i) {
    for (int64_t j = 0; j < args.n; ++j) {
      float sum = args.accumulate ? args.c[i * args.ldc + j] : 0.0f;
      for (int64_t p = 0; p < args.k; ++p) {
        const float a = a_transposed ? args.a[p * args.lda + i] : args.a[i * args.lda + p];
        const float b = b_transposed ? args.b[j * args.ldb + p] : args.b[p * args.ldb + j];
        sum = std::fma(a, b, sum);
      }
      args.c[i * args.ldc + j] = sum;
    }
  }
}

void gemm_bf16_ref(const GemmArgs& args, ThreadPool*) {
  const bool a_transposed = args.layout == GemmLayout::kTN;
  const bool b_transposed = args.layout == GemmLayout::kNT;
  auto bf16 = [](float value) { return bf16_to_f32(f32_to_bf16(value)); };
  for (int64_t i = 0; i < args.m; ++i) {
    for (int64_t j = 0; j < args.n; ++j) {
      float sum = args.accumulate ? args.c[i * args.ldc + j] : 0.0f;
      float pair[2];
      for (int64_t p0 = 0; p0 < args.k; p0 += 2) {
        for (int64_t h = 0; h < 2; ++h) {
          const int64_t p = p0 + h;
          if (p == args.k) {
            pair[h] = 0.0f;
            continue;
          }
          const float a = a_transposed ? args.a[p * args.lda + i] : args.a[i * args.lda + p];
          const float b = b_transposed ? args.b[j * args.ldb + p] : args.b[p * args.ldb + j];
          pair[h] = bf16(a) * bf16(b);  // exact: 8-bit significands
        }
        sum += pair[1];  // vdpbf16ps's order: the odd k first
        sum += pair[0];
      }
      args.c[i * args.ldc + j] = sum;
    }
  }
}

}  // namespace moe::kernels
