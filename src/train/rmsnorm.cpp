// RMSNorm forward/backward. With n = x * rstd: dw += sum_t dy * n;
// dx = rstd * (g - n * mean(g * n)) where g = dy * w (the norm's Jacobian applied to g).
#include "train/rmsnorm.h"

#include <cmath>

#include "train/parallel_chunks.h"

namespace moe::train {

namespace {
constexpr int64_t kRowChunk = 16;
}

void rmsnorm_forward(float* out, const float* x, const float* w, RmsNormSaved& saved, int64_t T, int64_t H, float eps,
                     ThreadPool* pool) {
  saved.rstd.resize(T);
  for_chunks(pool, T, kRowChunk, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* in = x + t * H;
      double sum_sq = 0.0;
      for (int64_t i = 0; i < H; ++i) sum_sq += static_cast<double>(in[i]) * in[i];
      const float rstd = static_cast<float>(1.0 / std::sqrt(sum_sq / H + eps));
      saved.rstd[t] = rstd;
      for (int64_t i = 0; i < H; ++i) out[t * H + i] = in[i] * rstd * w[i];
    }
  });
}

void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const RmsNormSaved& saved, int64_t T, int64_t H, ThreadPool* pool) {
  for_chunks(pool, T, kRowChunk, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* in = x + t * H;
      const float* dy = dout + t * H;
      const float rstd = saved.rstd[t];
      double dot = 0.0;  // sum_i g_i * n_i
      for (int64_t i = 0; i < H; ++i) dot += static_cast<double>(dy[i]) * w[i] * in[i] * rstd;
      const float mean_dot = static_cast<float>(dot / H);
      for (int64_t i = 0; i < H; ++i) {
        const float n = in[i] * rstd;
        dx[t * H + i] += rstd * (dy[i] * w[i] - n * mean_dot);
      }
    }
  });
  if (dw != nullptr)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < H; ++i) dw[i] += dout[t * H + i] * x[t * H + i] * saved.rstd[t];
}

}  // namespace moe::train
