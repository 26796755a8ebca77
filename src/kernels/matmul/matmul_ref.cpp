// Reference matmul: q8_0 and q4_0 weights times quantized activations in the canonical order of
// matmul_kernels.h (an integer dot product and one fma per 32-column block); f32, f16 and bf16 in
// its column-sequential order (one fma chain); the other dtypes dequantize each weight row with
// the portable codec and sum in double.
#include <cmath>
#include <vector>

#include "core/half.h"
#include "core/quantize.h"
#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {
namespace {

// Weight row r as integers w_q (q - 8 for q4_0) and per-block scales.
void decode_row_q(const MatmulBlock& block, int64_t r, int8_t* wq, float* wd) {
  const std::byte* row = block.w + r * block.w_stride;
  for (int64_t b = 0; b < block.cols / kQBlock; ++b) {
    int8_t* out = wq + b * kQBlock;
    if (block.dtype == DType::kQ8_0) {
      const auto& q = reinterpret_cast<const BlockQ8_0*>(row)[b];
      wd[b] = f16_to_f32(q.d);
      for (int j = 0; j < kQBlock; ++j) out[j] = q.qs[j];
    } else {
      const auto& q = reinterpret_cast<const BlockQ4_0*>(row)[b];
      wd[b] = f16_to_f32(q.d);
      for (int j = 0; j < kQBlock / 2; ++j) {
        out[j] = static_cast<int8_t>((q.qs[j] & 0x0f) - 8);
        out[j + 16] = static_cast<int8_t>((q.qs[j] >> 4) - 8);
      }
    }
  }
}

void matmul_quantized_ref(const MatmulBlock& block) {
  const int64_t n_blocks = block.cols / kQBlock;
  std::vector<int8_t> wq(block.cols);
  std::vector<float> wd(n_blocks);
  for (int64_t r = 0; r < block.n_rows; ++r) {
    decode_row_q(block, r, wq.data(), wd.data());
    for (int64_t t = 0; t < block.n_tokens; ++t) {
      const int8_t* xq = block.xq + t * block.cols;
      const float* xd = block.xq_d + t * n_blocks;
      float acc = 0.0f;
      for (int64_t b = 0; b < n_blocks; ++b) {
        const float scale = wd[b] * xd[b];  // exact: 11 by 11 significant bits
        int32_t p = 0;
        for (int64_t c = b * kQBlock; c < (b + 1) * kQBlock; ++c) p += wq[c] * xq[c];
        acc = std::fma(scale, static_cast<float>(p), acc);
      }
      block.y[t * block.ldy + r] = acc;
    }
  }
}

}  // namespace

void matmul_ref(const MatmulBlock& block) {
  if (uses_quantized_activations(block.dtype)) return matmul_quantized_ref(block);
  const bool sequential = uses_sequential_order(block.dtype);
  std::vector<float> row(block.cols);
  for (int64_t r = 0; r < block.n_rows; ++r) {
    dequantize_row(block.dtype, block.w + r * block.w_stride, row.data(), block.cols);
    for (int64_t t = 0; t < block.n_tokens; ++t) {
      const float* x = block.x + t * block.ldx;
      if (sequential) {
        float sum = 0.0f;
        for (int64_t c = 0; c < block.cols; ++c) sum = std::fma(row[c], x[c], sum);
        block.y[t * block.ldy + r] = sum;
        continue;
      }
      double sum = 0.0;
      for (int64_t c = 0; c < block.cols; ++c) sum += static_cast<double>(row[c]) * x[c];
      block.y[t * block.ldy + r] = static_cast<float>(sum);
    }
  }
}

void quantize_activations_ref(const float* x, int64_t cols, int32_t offset, int8_t* q, float* d, int32_t* bias) {
  const int64_t n_blocks = cols / kQBlock;
  std::vector<BlockQ8_0> blocks(n_blocks);
  quantize_row(DType::kQ8_0, x, reinterpret_cast<std::byte*>(blocks.data()), cols);
  for (int64_t b = 0; b < n_blocks; ++b) {
    d[b] = f16_to_f32(blocks[b].d);
    int32_t sum = 0;
    for (int64_t c = 0; c < kQBlock; ++c) {
      q[b * kQBlock + c] = blocks[b].qs[c];
      sum += blocks[b].qs[c];
    }
    bias[b] = -offset * sum;
  }
}

}  // namespace moe::kernels
