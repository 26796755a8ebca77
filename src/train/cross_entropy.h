// Cross-entropy of logits against target tokens, averaged over the tokens that have a target
// (target < 0 = no target, e.g. padding), with a stable log-softmax; and its backward.
// Shapes: T rows, V vocabulary.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"

namespace moe::train {

struct CrossEntropySaved {
  std::vector<float> lse;  // log-sum-exp of each row [T]
  int64_t n_targets = 0;   // rows with a target (the mean's divisor)
};

// Returns mean_t (lse_t - logits[t][target_t]) over rows with a target (0 when none has one).
double cross_entropy_forward(const float* logits, std::span<const int32_t> targets, int64_t V, CrossEntropySaved& saved,
                             ThreadPool* pool);
// d_logits [T][V] = d_loss * (softmax - onehot(target)) / n_targets (0 rows without a target);
// overwritten.
void cross_entropy_backward(float* d_logits, const float* logits, std::span<const int32_t> targets, int64_t V,
                            double d_loss, const CrossEntropySaved& saved, ThreadPool* pool);

}  // namespace moe::train
