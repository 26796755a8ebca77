// SwiGLU forward/backward per row group. With g = gate x, u = up x, s = sigmoid(g), a = g s u:
//   da = dout down;  du = da g s;  dg = da u s (1 + g (1 - s))
// then the three linear backwards. The element-wise parts run on the pool in fixed chunks, the
// sigmoid vectorised (kernels/sigmoid).
#include "train/swiglu.h"

#include <memory>

#include "core/error.h"
#include "kernels/sigmoid/sigmoid.h"
#include "train/linear.h"
#include "train/parallel_chunks.h"

namespace moe::train {

namespace {

constexpr int64_t kElementChunk = 16384;  // element-wise work per task

// Experts spread over the threads, each expert's GEMMs on one thread, when there are enough of them
// (one GEMM split over threads at ~128 rows per expert scales poorly); else expert after expert,
// each GEMM on the whole pool. Either way every element gets the same operations, so with moe's own
// GEMM the bits do not depend on the choice (oneDNN's may differ in the last bit).
template <typename Fn>
void for_each_expert(ThreadPool* pool, size_t n_experts, const Fn& run) {
  if (pool != nullptr && static_cast<int64_t>(n_experts) >= 2 * pool->n_threads()) {
    pool->parallel_for(static_cast<int64_t>(n_experts), [&](int64_t e) { run(static_cast<size_t>(e), nullptr); });
    return;
  }
  for (size_t e = 0; e < n_experts; ++e) run(e, pool);
}

}  // namespace

void swiglu_forward(float* out, const float* x, std::span<const int64_t> offsets, std::span<const SwigluParams> experts,
                    int64_t H, int64_t F, SwigluSaved& saved, ThreadPool* pool) {
  MOE_ASSERT(offsets.size() == experts.size() + 1);
  const int64_t R = offsets.back();
  saved.gate.resize(R * F);
  saved.up.resize(R * F);
  saved.act.resize(R * F);
  for_each_expert(pool, experts.size(), [&](size_t e, ThreadPool* threads) {
    const int64_t begin = offsets[e], n = offsets[e + 1] - begin;
    if (n == 0) return;
    float* g = saved.gate.data() + begin * F;
    float* u = saved.up.data() + begin * F;
    float* a = saved.act.data() + begin * F;
    const bool bf16 = experts[e].bf16;
    linear_forward(g, x + begin * H, experts[e].gate, nullptr, n, H, F, threads, bf16);
    linear_forward(u, x + begin * H, experts[e].up, nullptr, n, H, F, threads, bf16);
    for_chunks(threads, n * F, kElementChunk, [&](int64_t first, int64_t last) {
      kernels::sigmoid(g + first, a + first, last - first);
      for (int64_t i = first; i < last; ++i) a[i] = g[i] * a[i] * u[i];
    });
    linear_forward(out + begin * H, a, experts[e].down, nullptr, n, F, H, threads, bf16);
  });
}

void swiglu_backward(float* dx, std::span<const SwigluGrads> grads, const float* dout, const float* x,
                     std::span<const int64_t> offsets, std::span<const SwigluParams> experts, int64_t H, int64_t F,
                     const SwigluSaved& saved, ThreadPool* pool) {
  for_each_expert(pool, experts.size(), [&](size_t e, ThreadPool* threads) {
    const int64_t begin = offsets[e], n = offsets[e + 1] - begin;
    if (n == 0) return;
    const float* g = saved.gate.data() + begin * F;
    const float* u = saved.up.data() + begin * F;
    // Every element is written before it is read: no zero fill.
    const auto d_act = std::make_unique_for_overwrite<float[]>(n * F);
    const auto d_gate = std::make_unique_for_overwrite<float[]>(n * F);
    const auto d_up = std::make_unique_for_overwrite<float[]>(n * F);
    const bool bf16 = experts[e].bf16;
    linear_input_grad(d_act.get(), dout + begin * H, experts[e].down, n, F, H, threads, bf16);
    linear_backward(nullptr, grads[e].down, nullptr, dout + begin * H, saved.act.data() + begin * F, experts[e].down, n,
                    F, H, threads, bf16);
    for_chunks(threads, n * F, kElementChunk, [&](int64_t first, int64_t last) {
      kernels::sigmoid(g + first, d_up.get() + first, last - first);  // s, replaced by du below
      for (int64_t i = first; i < last; ++i) {
        const float sig = d_up[i];
        d_up[i] = d_act[i] * g[i] * sig;
        d_gate[i] = d_act[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
      }
    });
    linear_backward(dx + begin * H, grads[e].gate, nullptr, d_gate.get(), x + begin * H, experts[e].gate, n, H, F,
                    threads, bf16);
    linear_backward(dx + begin * H, grads[e].up, nullptr, d_up.get(), x + begin * H, experts[e].up, n, H, F, threads,
                    bf16);
  });
}

}  // namespace moe::train
