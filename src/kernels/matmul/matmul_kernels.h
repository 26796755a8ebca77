// Internal interface between the matmul driver and its per-ISA kernel files. The ISA files are
// built with their own -m flags, so they use only the plain types here and intrinsics: an inline
// function instantiated there could be linked into code that runs on a CPU without that ISA.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace moe::kernels {

// Largest block the driver passes: the ISA kernels keep a block's partial sums on the stack.
constexpr int64_t kMatmulMaxRows = 32;
constexpr int64_t kMatmulMaxTokens = 32;

// One task's block of a matmul: n_rows consecutive weight rows times n_tokens activation rows,
// y[t * ldy + r] = sum_c W[r, c] * x[t * ldx + c]. Pointers are already offset to the block.
struct MatmulBlock {
  DType dtype;
  const std::byte* w;  // row r at w + r * w_stride
  int64_t w_stride;
  int64_t n_rows;
  int64_t cols;
  const float* x;
  int64_t ldx;
  float* y;
  int64_t ldy;
  int64_t n_tokens;
};

using MatmulBlockFn = void (*)(const MatmulBlock& block);

// Portable reference for every dtype: dequantize_row, then a sum in double (the truth in tests).
void matmul_ref(const MatmulBlock& block);

// Every (row, token) sums its products in one vector accumulator, columns in order, then reduces
// the lanes in a fixed tree: the bits depend neither on tiling nor on the batch around a token.
void matmul_f32_avx2(const MatmulBlock& block);
void matmul_f16_avx2(const MatmulBlock& block);
void matmul_bf16_avx2(const MatmulBlock& block);
void matmul_q8_0_avx2(const MatmulBlock& block);
void matmul_q4_0_avx2(const MatmulBlock& block);
void matmul_q4_K_avx2(const MatmulBlock& block);
void matmul_q6_K_avx2(const MatmulBlock& block);

void matmul_f32_avx512(const MatmulBlock& block);
void matmul_f16_avx512(const MatmulBlock& block);
void matmul_bf16_avx512(const MatmulBlock& block);
void matmul_q8_0_avx512(const MatmulBlock& block);
void matmul_q4_0_avx512(const MatmulBlock& block);
void matmul_q4_K_avx512(const MatmulBlock& block);
void matmul_q6_K_avx512(const MatmulBlock& block);

}  // namespace moe::kernels
