// Portable scalar attention kernels: attention_kernels.h's algorithm written out plainly (the
// truth the ISA files must match bit for bit).
#include <cmath>

#include "core/half.h"
#include "kernels/attention/attention_kernels.h"
#include "kernels/exp_approx.h"

namespace moe::kernels {

namespace {

// The tree of attention_kernels.h over p[0..64).
float block_sum(const float* p) {
  float w[16];
  for (int i = 0; i < 16; ++i) w[i] = ((p[i] + p[i + 16]) + p[i + 32]) + p[i + 48];
  for (int half = 8; half >= 1; half /= 2)
    for (int i = 0; i < half; ++i) w[i] = w[i] + w[i + half];
  return w[0];
}

}  // namespace

void attention_block_ref(const AttentionTile& tile, AttentionRow* rows, int64_t n_rows) {
  for (int64_t r = 0; r < n_rows; ++r) {
    AttentionRow& row = rows[r];
    float* s = row.scores;
    for (int64_t j = 0; j < kAttentionBlock; ++j) {
      float dot = 0.0f;
      for (int64_t d = 0; d < tile.head_dim; ++d) dot = std::fma(row.q[d], tile.kt[d * kAttentionBlock + j], dot);
      s[j] = dot * tile.scale;
    }
    float new_max = row.max;
    for (int64_t j = 0; j < row.n_keys; ++j) new_max = std::max(new_max, s[j]);
    const float c = exp_approx(row.max - new_max);
    for (int64_t j = 0; j < kAttentionBlock; ++j) s[j] = j < row.n_keys ? exp_approx(s[j] - new_max) : 0.0f;
    row.sum = std::fma(row.sum, c, block_sum(s));
    row.max = new_max;
    for (int64_t d = 0; d < tile.padded_dim; ++d) {
      float a = row.acc[d] * c;
      for (int64_t j = 0; j < row.n_keys; ++j) a = std::fma(s[j], tile.v[j * tile.v_stride + d], a);
      row.acc[d] = a;
    }
  }
}

void attention_transpose_ref(const float* keys, int64_t stride, int64_t n_keys, int64_t head_dim, float* kt) {
  for (int64_t d = 0; d < head_dim; ++d)
    for (int64_t j = 0; j < kAttentionBlock; ++j)
      kt[d * kAttentionBlock + j] = j < n_keys ? keys[j * stride + d] : 0.0f;
}

void attention_f16_rows_ref(const uint16_t* src, int64_t src_stride, int64_t n, int64_t head_dim, float* dst,
                            int64_t dst_stride) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t d = 0; d < head_dim; ++d) dst[j * dst_stride + d] = f16_to_f32(src[j * src_stride + d]);
}

}  // namespace moe::kernels
