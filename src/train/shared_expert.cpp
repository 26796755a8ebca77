// Shared expert forward/backward: one SwiGLU group over all rows, then the per-token gate.
#include "train/shared_expert.h"

#include <cmath>
#include <span>

#include "train/linear.h"

namespace moe::train {

void shared_expert_forward(float* out, const float* x, int64_t T, const SwigluParams& ffn, const float* gate, int64_t H,
                           int64_t Fs, SharedExpertSaved& saved, ThreadPool* pool) {
  const int64_t all_rows[] = {0, T};
  saved.out.resize(T * H);
  saved.gate.resize(T);
  swiglu_forward(saved.out.data(), x, all_rows, std::span(&ffn, 1), H, Fs, saved.ffn, pool);
  linear_forward(saved.gate.data(), x, gate, nullptr, T, H, 1, pool);
  for (int64_t t = 0; t < T; ++t) {
    const float s = 1.0f / (1.0f + std::exp(-saved.gate[t]));
    saved.gate[t] = s;
    for (int64_t i = 0; i < H; ++i) out[t * H + i] += s * saved.out[t * H + i];
  }
}

void shared_expert_backward(float* dx, const SwigluGrads& d_ffn, float* d_gate, const float* dout, const float* x,
                            int64_t T, const SwigluParams& ffn, const float* gate, int64_t H, int64_t Fs,
                            const SharedExpertSaved& saved, ThreadPool* pool) {
  std::vector<float> d_out(T * H), d_gate_logit(T);
  for (int64_t t = 0; t < T; ++t) {
    const float s = saved.gate[t];
    double dot = 0.0;
    for (int64_t i = 0; i < H; ++i) {
      d_out[t * H + i] = s * dout[t * H + i];
      dot += static_cast<double>(dout[t * H + i]) * saved.out[t * H + i];
    }
    d_gate_logit[t] = static_cast<float>(dot) * s * (1.0f - s);
  }
  const int64_t all_rows[] = {0, T};
  swiglu_backward(dx, std::span(&d_ffn, 1), d_out.data(), x, all_rows, std::span(&ffn, 1), H, Fs, saved.ffn, pool);
  linear_backward(dx, d_gate, nullptr, d_gate_logit.data(), x, gate, T, H, 1, pool);
}

}  // namespace moe::train
