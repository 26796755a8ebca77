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
// The panel kernels (f32 / f16 / bf16 / q8_0 / q4_0, below) take up to this many tokens per block:
// the block's weights, converted once, then serve them all.
constexpr int64_t kMatmulMaxPanelTokens = 256;

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
  // q8_0 and q4_0 weights multiply the activations quantized once per matmul call (null for the
  // other dtypes), token 0 of the block first; n_blocks = cols / 32 blocks per token:
  const int8_t* xq;        // token t, column c: xq[t * cols + c], quantize_row(kQ8_0)'s q
  const float* xq_d;       // token t, block b: xq_d[t * n_blocks + b], the block's fp16 scale
  const int32_t* xq_bias;  // xq_bias[t * n_blocks + b] = -o times the sum of the block's q,
                           // o = 8 for q4_0 (its offset), 128 for q8_0 (VNNI's unsigned w + 128)
  // Weights in panels (matmul_panels.h): the panel of the block's rows 0..15 (rows 16..31 at
  // + panel_stride bytes). Always set for q8_0 / q4_0 on the SIMD levels; for f32 / f16 / bf16
  // when the weight has them (null: read the rows).
  const std::byte* panels;
  int64_t panel_stride;
  // The panels of the next row block of the same weight (null when none): its first chunk is
  // brought into cache while this block's last one is computed.
  const std::byte* next_panels = nullptr;
};

// True for the weight dtypes whose kernels take quantized activations (MatmulBlock::xq).
constexpr bool uses_quantized_activations(DType dtype) { return dtype == DType::kQ8_0 || dtype == DType::kQ4_0; }

// Quantized activations (q8_0 and q4_0 weights): every ISA computes, for each (row, token), the
// same float operations in the same order as matmul_ref, so all levels agree bit for bit:
//   acc = 0
//   for each 32-column block b, in order:
//     p = sum of w_q * x_q over the block's 32 columns         (int32, exact)
//     acc = fma(d_w(b) * d_x(b), float(p), acc)               (the product of two fp16 values
//                                                              and float(p), |p| < 2^24, are exact)
//   y = acc
// (w_q = q - 8 for q4_0). The kernels hold 16 rows' block sums in the lanes of one register
// (dpbusd or maddubs + madd over the panels' 4-byte column groups), so a block costs one
// conversion and one fma per 16 rows.
// The o of MatmulBlock::xq_bias.
constexpr int32_t quantized_bias_offset(DType dtype) { return dtype == DType::kQ4_0 ? 8 : 128; }

// f32, f16 and bf16 weights: the column-sequential order. Every (row, token) is one FMA chain
// over the columns in order, y = fma(w[c], x[c], ... fma(w[1], x[1], fma(w[0], x[0], 0))), with
// the weights exactly converted to f32: every level (and any tiling or batch) gives these bits.
// The kernels put rows in the vector lanes and broadcast activations, as a GEMM does.
constexpr bool uses_sequential_order(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

// True for the dtypes whose blocks take up to kMatmulMaxPanelTokens tokens.
constexpr bool uses_panel_kernels(DType dtype) {
  return uses_sequential_order(dtype) || uses_quantized_activations(dtype);
}

using MatmulBlockFn = void (*)(const MatmulBlock& block);

// One token's activations for the q8_0 / q4_0 kernels (MatmulBlock::xq, xq_d, xq_bias): per
// 32-column block b, q = quantize_row(kQ8_0)'s codes, d[b] = the float of its fp16 scale and
// bias[b] = -offset * sum q. Every level writes the same values.
void quantize_activations_ref(const float* x, int64_t cols, int32_t offset, int8_t* q, float* d, int32_t* bias);
void quantize_activations_avx2(const float* x, int64_t cols, int32_t offset, int8_t* q, float* d, int32_t* bias);

// Portable reference for every dtype (the truth in tests): for q8_0 and q4_0 the integer algorithm
// above; for f32, f16 and bf16 the column-sequential chain; for the others dequantize_row, then a
// sum in double. It reads the rows, never the panels.
void matmul_ref(const MatmulBlock& block);

// The per-ISA kernels. f32 / f16 / bf16 and q8_0 / q4_0 follow the orders above. The k-quants
// (q2_K..q6_K), i8 and f8_e4m3: every (row, token) sums its products in one vector accumulator, columns in order,
// then reduces the lanes in a fixed tree: the bits depend neither on tiling nor on the batch
// around a token (but on the level's vector width).
void matmul_f32_avx2(const MatmulBlock& block);
void matmul_f16_avx2(const MatmulBlock& block);
void matmul_bf16_avx2(const MatmulBlock& block);
void matmul_q8_0_avx2(const MatmulBlock& block);
void matmul_q4_0_avx2(const MatmulBlock& block);
void matmul_q4_K_avx2(const MatmulBlock& block);
void matmul_q6_K_avx2(const MatmulBlock& block);
void matmul_q5_K_avx2(const MatmulBlock& block);
void matmul_q3_K_avx2(const MatmulBlock& block);
void matmul_q2_K_avx2(const MatmulBlock& block);
// i8 and f8_e4m3 weights: the codes' values times f32 activations (the driver applies the scales).
void matmul_i8_avx2(const MatmulBlock& block);
void matmul_f8_e4m3_avx2(const MatmulBlock& block);

void matmul_f32_avx512(const MatmulBlock& block);
void matmul_f16_avx512(const MatmulBlock& block);
void matmul_bf16_avx512(const MatmulBlock& block);
// q8_0 and q4_0 on AVX-512BW (maddubs + madd) and, for CPUs with it, AVX-512 VNNI (dpbusd):
// the same integer sums, so the same bits.
void matmul_q8_0_avx512(const MatmulBlock& block);
void matmul_q4_0_avx512(const MatmulBlock& block);
void matmul_q8_0_avx512vnni(const MatmulBlock& block);
void matmul_q4_0_avx512vnni(const MatmulBlock& block);
void matmul_q4_K_avx512(const MatmulBlock& block);
void matmul_q6_K_avx512(const MatmulBlock& block);
void matmul_q5_K_avx512(const MatmulBlock& block);
void matmul_q3_K_avx512(const MatmulBlock& block);
void matmul_q2_K_avx512(const MatmulBlock& block);
void matmul_i8_avx512(const MatmulBlock& block);
void matmul_f8_e4m3_avx512(const MatmulBlock& block);

}  // namespace moe::kernels
