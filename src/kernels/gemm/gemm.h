// f32 GEMMs of the training blocks in the three layouts they need, C [m][n] (+)= op(A) op(B):
//   NT: A [m][k], B [n][k]  (forward  y  = x W^T)
//   NN: A [m][k], B [k][n]  (backward dx = dy W)
//   TN: A [k][m], B [k][n]  (backward dW = dy^T x)
// Every output element is one chain c = fma(a(i, p), b(p, j), c) over p = 0 .. k-1 in order,
// starting from C (accumulate) or 0: the bits depend on neither the tiling, the thread count,
// the rows around an element nor the ISA level (ref, avx2 and avx512 agree bit for bit).
// bf16 mode (mixed precision: f32 in memory, bf16 products, f32 sums): a and b are rounded to bf16
// (nearest even) and k is taken in pairs (2 q, 2 q + 1), an odd k padded with 0:
// c += a(i, 2q+1) b(2q+1, j), then c += a(i, 2q) b(2q, j), each product exact and each sum
// rounded once (AVX-512 BF16's vdpbf16ps, which also flushes subnormals to zero); it runs on
// vdpbf16ps at level avx512 on CPUs with avx512_bf16, else on the (slow) reference.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/cpu_features.h"

namespace moe::kernels {

enum class GemmLayout { kNT, kNN, kTN };

struct GemmArgs {
  GemmLayout layout = GemmLayout::kNT;
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;  // NT, NN: a(i, p) = a[i * lda + p]; TN: a[p * lda + i]
  int64_t lda = 0;
  const float* b = nullptr;  // NT: b(p, j) = b[j * ldb + p]; NN, TN: b[p * ldb + j]
  int64_t ldb = 0;
  float* c = nullptr;  // c[i * ldc + j]
  int64_t ldc = 0;
  bool accumulate = false;  // C += product; else C = product
  bool bf16 = false;        // bf16 mode (above)
};

// True where bf16 mode runs on vdpbf16ps (level avx512 and a CPU with avx512_bf16).
bool gemm_bf16_native();
// On the kernels of isa_level(), or in f32 mode on oneDNN's sgemm where it is installed and
// MOE_GEMM is not "moe" (faster here, not bit-exact across levels and threads: gemm_onednn.h);
// `pool` may be null (the calling thread only).
void gemm_f32(const GemmArgs& args, ThreadPool* pool);
// On moe's own kernels of `level` (tests); throws UsageError if this CPU lacks it.
void gemm_f32_with_level(IsaLevel level, const GemmArgs& args, ThreadPool* pool);

}  // namespace moe::kernels
