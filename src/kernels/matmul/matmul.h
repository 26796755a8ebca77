// Matrix times activations for every weight DType: y[t, r] = sum_c W[r, c] * x[t, c], the GEMV of
// decode (n_tokens 1..4) and the GEMM of prefill, on the kernel level chosen at start-up.
#pragma once

#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/cpu_features.h"

namespace moe::kernels {

// Activations x and outputs y are f32, token-major with leading dimensions (elements):
// x[t * ldx + c] for c < w.cols(), y[t * ldy + r] for r < w.rows().
struct MatmulArgs {
  const float* x;
  int64_t ldx;
  float* y;
  int64_t ldy;
  int64_t n_tokens;
};

// y[t * ldy + r] = sum_c W[r, c] * x[t * ldx + c] for t < n_tokens, r < w.rows(); y is overwritten.
// W is 2-D, of any DType (quantized blocks along c). `pool` may be null (the calling thread only).
// Results are bit-identical for any thread count and for any batch a token is computed in.
void matmul(const Tensor& w, const MatmulArgs& args, ThreadPool* pool);
// The same on the kernels of `level` (tests and benchmarks); throws UsageError if this CPU lacks
// it.
void matmul_with_level(IsaLevel level, const Tensor& w, const MatmulArgs& args, ThreadPool* pool);
// Name of the kernel matmul() uses for `dtype`, e.g. "q8_0/avx512" (for `moe info` and tests).
std::string matmul_kernel_name(DType dtype);

}  // namespace moe::kernels
