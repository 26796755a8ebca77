// Attention forward keeps q, k, v, the context and each query's log-sum-exp; backward recomputes
// the probabilities from them (no [S][S] matrix is stored; the core is attention_core.cpp). Per query head h, query i,
// key j <= i:
//   P_ij = exp(q_i.k_j * c - lse_i), c = the scale (1/sqrt(d));  ctx_i = sum_j P_ij v_j
//   dv_j += P_ij dctx_i;  ds_ij = P_ij (dctx_i.v_j - dctx_i.ctx_i)
//   dq_i += c sum_j ds_ij k_j;  dk_j += c sum_i ds_ij q_i
// then RoPE's transpose (a rotation by -position) on dq and dk, the clip's (the gradient passes
// where |x| <= c, as torch.clamp's does), the norms' and the projections' backward.
#include "train/attention.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/attention_core.h"
#include "train/linear.h"
#include "train/parallel_chunks.h"

namespace moe::train {

namespace {

void check(const AttentionConfig& c, const AttentionParams& p) {
  MOE_CHECK(c.n_kv_heads > 0 && c.n_heads % c.n_kv_heads == 0, ConfigError, "attention: ", c.n_heads,
            " heads are not a multiple of ", c.n_kv_heads, " kv heads");
  MOE_CHECK(c.head_dim % 2 == 0, ConfigError, "attention: head_dim ", c.head_dim, " is odd (RoPE rotates pairs)");
  MOE_CHECK(c.scale > 0, ConfigError, "attention: scale must be > 0, got ", c.scale);
  const bool none = c.qk_norm == model::QkNorm::kNone;
  MOE_CHECK(none ? p.q_norm == nullptr && p.k_norm == nullptr : p.q_norm != nullptr && p.k_norm != nullptr, ConfigError,
            "attention: the q/k norm weights do not match the config (", none ? "no q/k norm" : "q/k norm", ")");
}

// The optional norm (rows of head_dim per head, or the whole projection) then clip of one
// projection's output `values` [T][width] of n_heads heads, in place.
void normalize_and_clip(std::vector<float>& values, int64_t n_heads, const float* norm_weight, const AttentionConfig& c,
                        ProjectionSaved& saved, ThreadPool* pool) {
  const int64_t T = c.batch * c.seq, width = n_heads * c.head_dim;
  if (norm_weight != nullptr) {
    const bool per_head = c.qk_norm == model::QkNorm::kPerHead;
    saved.norm_in = values;
    rmsnorm_forward(values.data(), saved.norm_in.data(), norm_weight, saved.norm, per_head ? T * n_heads : T,
                    per_head ? c.head_dim : width, c.rms_eps, pool);
  }
  if (c.clip_qkv) {
    saved.clip_in = values;
    for (float& v : values) v = std::clamp(v, -*c.clip_qkv, *c.clip_qkv);
  }
}

// The backward of normalize_and_clip: turns d_values (w.r.t. the output) into the gradient w.r.t.
// the projection's output, in place; the norm weight's gradient goes to d_norm_weight.
void normalize_and_clip_backward(std::vector<float>& d_values, int64_t n_heads, const float* norm_weight,
                                 float* d_norm_weight, const AttentionConfig& c, const ProjectionSaved& saved,
                                 ThreadPool* pool) {
  const int64_t T = c.batch * c.seq, width = n_heads * c.head_dim;
  if (c.clip_qkv)
    for (size_t i = 0; i < d_values.size(); ++i)
      if (std::abs(saved.clip_in[i]) > *c.clip_qkv) d_values[i] = 0.0f;
  if (norm_weight != nullptr) {
    const bool per_head = c.qk_norm == model::QkNorm::kPerHead;
    std::vector<float> d_in(d_values.size(), 0.0f);
    rmsnorm_backward(d_in.data(), d_norm_weight, d_values.data(), saved.norm_in.data(), norm_weight, saved.norm,
                     per_head ? T * n_heads : T, per_head ? c.head_dim : width, pool);
    d_values = std::move(d_in);
  }
}

// Rotates every row's heads for its position (token s of a sequence at position s); `sign` -1
// applies the inverse rotation (RoPE's transpose).
void rope_rows(float* rows, int64_t n_heads, const AttentionConfig& c, int64_t sign) {
  const int64_t width = n_heads * c.head_dim;
  for (int64_t t = 0; t < c.batch * c.seq; ++t)
    kernels::rope_apply(rows + t * width, n_heads, c.head_dim, sign * (t % c.seq), c.rope_theta, c.rope_style);
}

}  // namespace

void attention_forward(float* out, const float* x, const AttentionParams& params, const AttentionConfig& c,
                       AttentionSaved& saved, ThreadPool* pool) {
  check(c, params);
  const int64_t T = c.batch * c.seq, H = c.hidden, d = c.head_dim;
  const int64_t Q = c.n_heads * d, K = c.n_kv_heads * d;
  saved.q.resize(T * Q);
  saved.k.resize(T * K);
  saved.v.resize(T * K);
  saved.context.resize(T * Q);
  saved.lse.resize(c.batch * c.n_heads * c.seq);
  linear_forward(saved.q.data(), x, params.wq, params.bq, T, H, Q, pool);
  linear_forward(saved.k.data(), x, params.wk, params.bk, T, H, K, pool);
  linear_forward(saved.v.data(), x, params.wv, params.bv, T, H, K, pool);
  normalize_and_clip(saved.q, c.n_heads, params.q_norm, c, saved.q_proj, pool);
  normalize_and_clip(saved.k, c.n_kv_heads, params.k_norm, c, saved.k_proj, pool);
  normalize_and_clip(saved.v, c.n_kv_heads, nullptr, c, saved.v_proj, pool);
  rope_rows(saved.q.data(), c.n_heads, c, 1);
  rope_rows(saved.k.data(), c.n_kv_heads, c, 1);

  attention_core_forward(c, saved.q.data(), saved.k.data(), saved.v.data(), saved.context.data(), saved.lse.data(),
                         pool);
  linear_forward(out, saved.context.data(), params.wo, nullptr, T, Q, H, pool);
}

void attention_backward(float* dx, const AttentionGrads& grads, const float* dout, const float* x,
                        const AttentionParams& params, const AttentionConfig& c, const AttentionSaved& saved,
                        ThreadPool* pool) {
  const int64_t T = c.batch * c.seq, H = c.hidden, d = c.head_dim;
  const int64_t Q = c.n_heads * d, K = c.n_kv_heads * d;
  std::vector<float> d_context(T * Q, 0.0f), dq(T * Q, 0.0f), dk(T * K, 0.0f), dv(T * K, 0.0f);
  linear_backward(d_context.data(), grads.wo, nullptr, dout, saved.context.data(), params.wo, T, Q, H, pool);

  attention_core_backward(c, saved.q.data(), saved.k.data(), saved.v.data(), saved.context.data(), saved.lse.data(),
                          d_context.data(), dq.data(), dk.data(), dv.data(), pool);
  rope_rows(dq.data(), c.n_heads, c, -1);
  rope_rows(dk.data(), c.n_kv_heads, c, -1);
  normalize_and_clip_backward(dq, c.n_heads, params.q_norm, grads.q_norm, c, saved.q_proj, pool);
  normalize_and_clip_backward(dk, c.n_kv_heads, params.k_norm, grads.k_norm, c, saved.k_proj, pool);
  normalize_and_clip_backward(dv, c.n_kv_heads, nullptr, nullptr, c, saved.v_proj, pool);
  linear_backward(dx, grads.wq, grads.bq, dq.data(), x, params.wq, T, H, Q, pool);
  linear_backward(dx, grads.wk, grads.bk, dk.data(), x, params.wk, T, H, K, pool);
  linear_backward(dx, grads.wv, grads.bv, dv.data(), x, params.wv, T, H, K, pool);
}

}  // namespace moe::train
