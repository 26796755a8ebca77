// MLA's rotary frequencies as DeepseekV3YarnRotaryEmbedding computes them, and the pairwise rotation.
#include "model/mla.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace moe::model {

namespace {

double yarn_get_mscale(double factor, double mscale) {
  return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

// The dimension index at which a frequency makes num_rotations turns over max_positions.
double yarn_find_correction_dim(double num_rotations, int64_t dim, double base, double max_positions) {
  return (dim * std::log(max_positions / (num_rotations * 2 * std::numbers::pi))) / (2 * std::log(base));
}

}  // namespace

float mla_softmax_scale(int64_t head_dim, const std::optional<YarnScaling>& yarn) {
  double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  if (yarn && yarn->mscale_all_dim != 0) {
    const double m = yarn_get_mscale(yarn->factor, yarn->mscale_all_dim);
    scale *= m * m;
  }
  return static_cast<float>(scale);
}

MlaRope mla_rope(int64_t rope_dim, double theta, const std::optional<YarnScaling>& yarn) {
  MlaRope rope;
  const int64_t half = rope_dim / 2;
  rope.inv_freq.resize(half);
  for (int64_t i = 0; i < half; ++i) rope.inv_freq[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / rope_dim);
  if (!yarn) return rope;
  const double max_positions = static_cast<double>(yarn->original_max_positions);
  const double low =
      std::max(std::floor(yarn_find_correction_dim(yarn->beta_fast, rope_dim, theta, max_positions)), 0.0);
  double high = std::min(std::ceil(yarn_find_correction_dim(yarn->beta_slow, rope_dim, theta, max_positions)),
                         static_cast<double>(rope_dim - 1));
  if (low == high) high += 0.001;  // yarn_linear_ramp_mask
  for (int64_t i = 0; i < half; ++i) {
    const double extrapolation = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double mask = 1.0 - extrapolation;  // inv_freq_mask: 1 keeps the original frequency
    rope.inv_freq[i] = rope.inv_freq[i] / yarn->factor * (1.0 - mask) + rope.inv_freq[i] * mask;
  }
  rope.mscale = yarn_get_mscale(yarn->factor, yarn->mscale) / yarn_get_mscale(yarn->factor, yarn->mscale_all_dim);
  return rope;
}

void mla_rope_apply(const MlaRope& rope, float* vectors, int64_t n_vectors, int64_t stride, int64_t offset,
                    int64_t position) {
  const int64_t half = static_cast<int64_t>(rope.inv_freq.size());
  for (int64_t i = 0; i < half; ++i) {
    const double angle = static_cast<double>(position) * rope.inv_freq[i];
    const auto cos = static_cast<float>(std::cos(angle) * rope.mscale);
    const auto sin = static_cast<float>(std::sin(angle) * rope.mscale);
    for (int64_t v = 0; v < n_vectors; ++v) {
      float* pair = vectors + v * stride + offset + 2 * i;
      const float x0 = pair[0], x1 = pair[1];
      pair[0] = x0 * cos - x1 * sin;
      pair[1] = x1 * cos + x0 * sin;
    }
  }
}

Tensor mla_absorbed_uk(const AttentionSpec& a, const Tensor& wkv_b) {
  if (a.kind != AttentionKind::kMla || wkv_b.empty()) return {};
  const int64_t r = a.kv_lora_rank, nope = a.nope_dim(), per_head = nope + a.head_dim_v;
  const int64_t n_heads = wkv_b.dim(0) / per_head;  // this rank's heads
  const std::vector<float> kv_b = wkv_b.to_f32();   // [n_heads * per_head, r]
  std::vector<float> uk_t(n_heads * r * nope);
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < nope; ++i)
      for (int64_t c = 0; c < r; ++c) uk_t[(h * r + c) * nope + i] = kv_b[(h * per_head + i) * r + c];
  return Tensor::from_f32({n_heads * r, nope}, std::move(uk_t));
}

}  // namespace moe::model
