// RoPE: angles computed in double (position * theta^(-2i/d)) then applied in fp32, as HF does up
// to rounding of the angle.
#include "kernels/rope.h"

#include <cmath>
#include <vector>

namespace moe::kernels {

void rope_apply(float* vec, int64_t n_heads, int64_t head_dim, int64_t position, double theta, RopeStyle style) {
  const int64_t half = head_dim / 2;
  std::vector<float> cos_table(half), sin_table(half);
  for (int64_t i = 0; i < half; ++i) {
    const double inv_freq = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
    const double angle = static_cast<double>(position) * inv_freq;
    cos_table[i] = static_cast<float>(std::cos(angle));
    sin_table[i] = static_cast<float>(std::sin(angle));
  }
  for (int64_t head = 0; head < n_heads; ++head) {
    float* v = vec + head * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const int64_t a = style == RopeStyle::kNeox ? i : 2 * i;
      const int64_t b = style == RopeStyle::kNeox ? i + half : 2 * i + 1;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * cos_table[i] - x1 * sin_table[i];
      v[b] = x1 * cos_table[i] + x0 * sin_table[i];
    }
  }
}

}  // namespace moe::kernels
