// SwiGLU forward/backward per row group. With g = gate x, u = up x, s = sigmoid(g), a = g s u:
//   da = dout down;  du = da g s;  dg = da u s (1 + g (1 - s))
// then the three linear backwards. The element-wise parts run on the pool in fixed chunks, the
// sigmoid vectorised (kernels/sigmoid).
#include "train/swiglu.h"

#include "core/error.h"
#include "kernels/sigmoid/sigmoid.h"
#include "train/linear.h"
#include "train/parallel_chunks.h"

namespace moe::train {

namespace {

constexpr int64_t kElementChunk = 16384;  // element-wise work per task

}  // namespace

void swiglu_forward(float* out, const float* x, std::span<const int64_t> offsets,
                    std::span<const SwigluParams> experts, int64_t H, int64_t F,
                    SwigluSaved& saved, ThreadPool* pool) {
  MOE_ASSERT(offsets.size() == experts.size() + 1);
  const int64_t R = offsets.back();
  saved.gate.resize(R * F);
  saved.up.resize(R * F);
  saved.act.resize(R * F);
  for (size_t e = 0; e < experts.size(); ++e) {
    const int64_t begin = offsets[e], n = offsets[e + 1] - begin;
    if (n == 0) continue;
    float* g = saved.gate.data() + begin * F;
    float* u = saved.up.data() + begin * F;
    float* a = saved.act.data() + begin * F;
    const bool bf16 = experts[e].bf16;
    linear_forward(g, x + begin * H, experts[e].gate, nullptr, n, H, F, pool, bf16);
    linear_forward(u, x + begin * H, experts[e].up, nullptr, n, H, F, pool, bf16);
    for_chunks(pool, n * F, kElementChunk, [&](int64_t first, int64_t last) {
      kernels::sigmoid(g + first, a + first, last - first);
      for (int64_t i = first; i < last; ++i) a[i] = g[i] * a[i] * u[i];
    });
    linear_forward(out + begin * H, a, experts[e].down, nullptr, n, F, H, pool, bf16);
  }
}

void swiglu_backward(float* dx, std::span<const SwigluGrads> grads, const float* dout,
                     const float* x, std::span<const int64_t> offsets,
                     std::span<const SwigluParams> experts, int64_t H, int64_t F,
                     const SwigluSaved& saved, ThreadPool* pool) {
  std::vector<float> d_act, d_gate, d_up;
  for (size_t e = 0; e < experts.size(); ++e) {
    const int64_t begin = offsets[e], n = offsets[e + 1] - begin;
    if (n == 0) continue;
    const float* g = saved.gate.data() + begin * F;
    const float* u = saved.up.data() + begin * F;
    d_act.resize(n * F);
    const bool bf16 = experts[e].bf16;
    linear_input_grad(d_act.data(), dout + begin * H, experts[e].down, n, F, H, pool, bf16);
    linear_backward(nullptr, grads[e].down, nullptr, dout + begin * H, saved.act.data() + begin * F,
                    experts[e].down, n, F, H, pool, bf16);
    d_gate.resize(n * F);
    d_up.resize(n * F);
    for_chunks(pool, n * F, kElementChunk, [&](int64_t first, int64_t last) {
      kernels::sigmoid(g + first, d_up.data() + first, last - first);  // s, replaced by du below
      for (int64_t i = first; i < last; ++i) {
        const float sig = d_up[i];
        d_up[i] = d_act[i] * g[i] * sig;
        d_gate[i] = d_act[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
      }
    });
    linear_backward(dx + begin * H, grads[e].gate, nullptr, d_gate.data(), x + begin * H, experts[e].gate, n, H, F,
                    pool, bf16);
    linear_backward(dx + begin * H, grads[e].up, nullptr, d_up.data(), x + begin * H, experts[e].up, n, H, F, pool,
                    bf16);
  }
}

}  // namespace moe::train
