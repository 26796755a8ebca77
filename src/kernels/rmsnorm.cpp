// RMSNorm, accumulated in double so long rows keep fp32-exact scale factors.
#include "kernels/rmsnorm.h"

#include <cmath>

namespace moe::kernels {

void rmsnorm(const float* x, int64_t ldx, const float* weight, float* out, int64_t ldo, int64_t n_rows, int64_t n_cols,
             float eps) {
  for (int64_t row = 0; row < n_rows; ++row) {
    const float* in = x + row * ldx;
    float* dst = out + row * ldo;
    double sum_sq = 0.0;
    for (int64_t col = 0; col < n_cols; ++col) sum_sq += static_cast<double>(in[col]) * in[col];
    const float scale = static_cast<float>(1.0 / std::sqrt(sum_sq / n_cols + eps));
    for (int64_t col = 0; col < n_cols; ++col)
      dst[col] = weight != nullptr ? in[col] * scale * weight[col] : in[col] * scale;
  }
}

}  // namespace moe::kernels
