// The gated shared expert of Qwen2-MoE for training: out += sigmoid(x . w_gate) * SwiGLU(x), and
// its backward:
//   dy_t = s_t dout_t,   d(x_t . w_gate) = (dout_t . y_t) s_t (1 - s_t)   (s_t = the gate)
// Linear in y, so under tensor parallelism each rank runs it with its block of the ffn columns and
// the partial outputs (and input gradients) sum to the whole.
// Shapes: T rows, H hidden, Fs the ffn width held here.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "train/swiglu.h"

namespace moe::train {

struct SharedExpertSaved {
  SwigluSaved ffn;
  std::vector<float> out;   // SwiGLU(x) [T][H]
  std::vector<float> gate;  // sigmoid(x w_gate) [T]
};

// out [T][H] += the gated shared expert's output.
void shared_expert_forward(float* out, const float* x, int64_t T, const SwigluParams& ffn, const float* gate, int64_t H,
                           int64_t Fs, SharedExpertSaved& saved, ThreadPool* pool);
// dx [T][H] += the input gradient; ffn and d_gate accumulate the parameter gradients.
void shared_expert_backward(float* dx, const SwigluGrads& d_ffn, float* d_gate, const float* dout, const float* x,
                            int64_t T, const SwigluParams& ffn, const float* gate, int64_t H, int64_t Fs,
                            const SharedExpertSaved& saved, ThreadPool* pool);

}  // namespace moe::train
