// Cross-entropy forward/backward, each row's log-sum-exp accumulated in double after subtracting
// the row maximum.
#include "train/cross_entropy.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/parallel_chunks.h"

namespace moe::train {

namespace {
constexpr int64_t kRowChunk = 4;
}

double cross_entropy_forward(const float* logits, std::span<const int32_t> targets, int64_t V, CrossEntropySaved& saved,
                             ThreadPool* pool) {
  const int64_t T = static_cast<int64_t>(targets.size());
  saved.lse.resize(T);
  saved.n_targets = 0;
  for (int64_t t = 0; t < T; ++t) {
    MOE_CHECK(targets[t] < V, UsageError, "target token ", targets[t], " at position ", t,
              " is outside the vocabulary of ", V);
    if (targets[t] >= 0) ++saved.n_targets;
  }
  for_chunks(pool, T, kRowChunk, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* row = logits + t * V;
      const float max_logit = *std::max_element(row, row + V);
      double sum = 0.0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(row[v]) - max_logit);
      saved.lse[t] = static_cast<float>(max_logit + std::log(sum));
    }
  });
  if (saved.n_targets == 0) return 0.0;
  double total = 0.0;
  for (int64_t t = 0; t < T; ++t)
    if (targets[t] >= 0) total += static_cast<double>(saved.lse[t]) - logits[t * V + targets[t]];
  return total / static_cast<double>(saved.n_targets);
}

void cross_entropy_backward(float* d_logits, const float* logits, std::span<const int32_t> targets, int64_t V,
                            double d_loss, const CrossEntropySaved& saved, ThreadPool* pool) {
  const int64_t T = static_cast<int64_t>(targets.size());
  const float scale = saved.n_targets > 0 ? static_cast<float>(d_loss / saved.n_targets) : 0.0f;
  for_chunks(pool, T, kRowChunk, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* dst = d_logits + t * V;
      if (targets[t] < 0) {
        std::fill(dst, dst + V, 0.0f);
        continue;
      }
      for (int64_t v = 0; v < V; ++v) dst[v] = scale * std::exp(logits[t * V + v] - saved.lse[t]);
      dst[targets[t]] -= scale;
    }
  });
}

}  // namespace moe::train
