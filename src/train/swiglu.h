// SwiGLU FFNs down(silu(gate x) * up x) applied as a grouped GEMM: expert e multiplies only its
// contiguous rows [offsets[e], offsets[e+1]). One group of all rows is a single FFN (the shared
// expert). Shapes: R rows in all, H hidden, F ffn size; gate, up [F][H], down [H][F].
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"

namespace moe::train {

struct SwigluParams {
  const float *gate, *up, *down;
  bool bf16 = false;  // the six GEMMs in kernels::gemm's bf16 mode (bf16 products, f32 sums and weights)
};
struct SwigluGrads {
  float *gate, *up, *down;
};

struct SwigluSaved {
  std::vector<float> gate;  // gate x, before silu [R][F]
  std::vector<float> up;    // up x [R][F]
  std::vector<float> act;   // silu(gate x) * up x [R][F]
};

// out [R][H] overwritten; offsets has experts.size() + 1 entries, offsets.back() = R.
void swiglu_forward(float* out, const float* x, std::span<const int64_t> offsets, std::span<const SwigluParams> experts,
                    int64_t H, int64_t F, SwigluSaved& saved, ThreadPool* pool);
// dx [R][H] += the input gradient; grads[e] accumulate expert e's parameter gradients.
void swiglu_backward(float* dx, std::span<const SwigluGrads> grads, const float* dout, const float* x,
                     std::span<const int64_t> offsets, std::span<const SwigluParams> experts, int64_t H, int64_t F,
                     const SwigluSaved& saved, ThreadPool* pool);

}  // namespace moe::train
