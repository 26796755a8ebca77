// Causal self-attention block for training: q/k/v projections (optional biases), optional q/k
// RMSNorms (per head as Qwen3-MoE, or over the whole projection as OLMoE) and q/k/v clipping
// (OLMoE's clip_qkv), RoPE (rotate-half or interleaved), GQA, causal softmax, output projection;
// and its backward.
// Shapes: B sequences of S tokens (T = B * S rows, sequence-major), H hidden,
// Q = n_heads * head_dim, K = n_kv_heads * head_dim. Token s of each sequence sits at position s.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/rope.h"
#include "model/model_config.h"
#include "train/rmsnorm.h"

namespace moe::train {

struct AttentionConfig {
  int64_t batch = 0;   // B
  int64_t seq = 0;     // S
  int64_t hidden = 0;  // H
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // divides n_heads; query head h reads kv head h / (n_heads / n_kv_heads)
  int64_t head_dim = 0;
  float scale = 0.0f;  // multiplies q.k (usually 1 / sqrt(head_dim))
  double rope_theta = 10000.0;
  kernels::RopeStyle rope_style = kernels::RopeStyle::kNeox;
  model::QkNorm qk_norm = model::QkNorm::kNone;  // RMSNorm of q and k after the projections
  float rms_eps = 1e-5f;                         // of the q/k norms
  std::optional<float> clip_qkv;                 // clamp q, k, v to [-c, c] after the norms
};

// Weights as HF stores them: wq [Q][H], wk, wv [K][H], wo [H][Q]; biases [Q], [K], [K] or null;
// q/k norm weights [head_dim] (per head) or [Q], [K] (whole), or null.
struct AttentionParams {
  const float *wq, *wk, *wv, *wo;
  const float *bq = nullptr, *bk = nullptr, *bv = nullptr;
  const float *q_norm = nullptr, *k_norm = nullptr;
};

// Gradient buffers of the same shapes (accumulated); null where there is no such parameter.
struct AttentionGrads {
  float *wq, *wk, *wv, *wo;
  float *bq = nullptr, *bk = nullptr, *bv = nullptr;
  float *q_norm = nullptr, *k_norm = nullptr;
};

// What a projection's optional norm and clip keep (empty when they are off).
struct ProjectionSaved {
  std::vector<float> norm_in;  // the projection's output, entering the norm
  RmsNormSaved norm;
  std::vector<float> clip_in;  // the values entering the clip
};

struct AttentionSaved {
  ProjectionSaved q_proj, k_proj, v_proj;
  std::vector<float> q, k, v;  // after bias, norm, clip and RoPE: [T][Q], [T][K], [T][K]
  std::vector<float> context;  // softmax(q k^T / sqrt(d)) v before the output projection, [T][Q]
  std::vector<float> lse;      // log-sum-exp of each query's scores, [B][n_heads][S]
};

// out [T][H] is overwritten; x [T][H] is the (normalised) input.
void attention_forward(float* out, const float* x, const AttentionParams& params, const AttentionConfig& config,
                       AttentionSaved& saved, ThreadPool* pool);
// dx [T][H] += the input gradient; parameter gradients accumulated into grads.
void attention_backward(float* dx, const AttentionGrads& grads, const float* dout, const float* x,
                        const AttentionParams& params, const AttentionConfig& config, const AttentionSaved& saved,
                        ThreadPool* pool);

}  // namespace moe::train
