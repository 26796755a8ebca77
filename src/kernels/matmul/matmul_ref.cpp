// Reference matmul: each weight row dequantized with the portable codec, dot products in double.
#include <vector>

#include "core/quantize.h"
#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {

void matmul_ref(const MatmulBlock& block) {
  std::vector<float> row(block.cols);
  for (int64_t r = 0; r < block.n_rows; ++r) {
    dequantize_row(block.dtype, block.w + r * block.w_stride, row.data(), block.cols);
    for (int64_t t = 0; t < block.n_tokens; ++t) {
      const float* x = block.x + t * block.ldx;
      double sum = 0.0;
      for (int64_t c = 0; c < block.cols; ++c) sum += static_cast<double>(row[c]) * x[c];
      block.y[t * block.ldy + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace moe::kernels
