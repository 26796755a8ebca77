// The reference attention core: one query and one key at a time, libm's exp (attention_core.h).
#include <algorithm>
#include <cmath>
#include <vector>

#include "train/attention_core.h"
#include "train/parallel_chunks.h"

namespace moe::train {

void attention_core_forward_ref(const AttentionConfig& c, const float* q_all, const float* k_all, const float* v_all,
                                float* context, float* lse_all, ThreadPool* pool) {
  const int64_t d = c.head_dim, Q = c.n_heads * d, K = c.n_kv_heads * d, group = c.n_heads / c.n_kv_heads;
  const float scale = c.scale;
  for_chunks(pool, c.batch * c.n_heads, 1, [&](int64_t task, int64_t) {
    const int64_t b = task / c.n_heads, h = task % c.n_heads, kv = h / group;
    std::vector<float> scores(c.seq);
    for (int64_t i = 0; i < c.seq; ++i) {
      const float* q = q_all + (b * c.seq + i) * Q + h * d;
      float max_score = -INFINITY;
      for (int64_t j = 0; j <= i; ++j) {
        const float* k = k_all + (b * c.seq + j) * K + kv * d;
        float dot = 0.0f;
        for (int64_t e = 0; e < d; ++e) dot += q[e] * k[e];
        scores[j] = dot * scale;
        max_score = std::max(max_score, scores[j]);
      }
      double sum = 0.0;
      for (int64_t j = 0; j <= i; ++j) sum += std::exp(static_cast<double>(scores[j] - max_score));
      const float lse = max_score + static_cast<float>(std::log(sum));
      lse_all[(b * c.n_heads + h) * c.seq + i] = lse;
      float* ctx = context + (b * c.seq + i) * Q + h * d;
      std::fill(ctx, ctx + d, 0.0f);
      for (int64_t j = 0; j <= i; ++j) {
        const float p = std::exp(scores[j] - lse);
        const float* v = v_all + (b * c.seq + j) * K + kv * d;
        for (int64_t e = 0; e < d; ++e) ctx[e] += p * v[e];
      }
    }
  });
}

void attention_core_backward_ref(const AttentionConfig& c, const float* q_all, const float* k_all, const float* v_all,
                                 const float* context, const float* lse_all, const float* d_context, float* dq,
                                 float* dk, float* dv, ThreadPool* pool) {
  const int64_t d = c.head_dim, Q = c.n_heads * d, K = c.n_kv_heads * d, group = c.n_heads / c.n_kv_heads;
  const float scale = c.scale;
  // One task per (sequence, kv head): it owns dk and dv of that head, so no two tasks write the
  // same value.
  for_chunks(pool, c.batch * c.n_kv_heads, 1, [&](int64_t task, int64_t) {
    const int64_t b = task / c.n_kv_heads, kv = task % c.n_kv_heads;
    std::vector<float> probs(c.seq), d_scores(c.seq);
    for (int64_t h = kv * group; h < (kv + 1) * group; ++h)
      for (int64_t i = 0; i < c.seq; ++i) {
        const int64_t row_i = b * c.seq + i;
        const float* q = q_all + row_i * Q + h * d;
        const float* dctx = d_context + row_i * Q + h * d;
        const float* ctx = context + row_i * Q + h * d;
        const float lse = lse_all[(b * c.n_heads + h) * c.seq + i];
        float dctx_dot_ctx = 0.0f;
        for (int64_t e = 0; e < d; ++e) dctx_dot_ctx += dctx[e] * ctx[e];
        for (int64_t j = 0; j <= i; ++j) {
          const float* k = k_all + (b * c.seq + j) * K + kv * d;
          const float* v = v_all + (b * c.seq + j) * K + kv * d;
          float qk = 0.0f, dctx_v = 0.0f;
          for (int64_t e = 0; e < d; ++e) {
            qk += q[e] * k[e];
            dctx_v += dctx[e] * v[e];
          }
          probs[j] = std::exp(qk * scale - lse);
          d_scores[j] = probs[j] * (dctx_v - dctx_dot_ctx) * scale;
        }
        float* dqi = dq + row_i * Q + h * d;
        for (int64_t j = 0; j <= i; ++j) {
          const int64_t row_j = b * c.seq + j;
          const float* k = k_all + row_j * K + kv * d;
          float* dkj = dk + row_j * K + kv * d;
          float* dvj = dv + row_j * K + kv * d;
          for (int64_t e = 0; e < d; ++e) {
            dqi[e] += d_scores[j] * k[e];
            dkj[e] += d_scores[j] * q[e];
            dvj[e] += probs[j] * dctx[e];
          }
        }
      }
  });
}

}  // namespace moe::train
