// Sinkhorn balancing, step for step as Megatron-Core's moe_utils.sinkhorn (in double, where
// Megatron uses fp32: the same fixed point, fewer rounding surprises near ties).
#include "train/sinkhorn.h"

#include <algorithm>
#include <cmath>

namespace moe::train {

std::vector<double> sinkhorn(std::span<const float> logits, int64_t n_tokens, int64_t n_experts) {
  constexpr double kEps = 1e-8;  // Megatron's guard against empty rows and columns
  std::vector<double> cost(logits.begin(), logits.end());
  for (double& value : cost) value = std::exp(value);
  std::vector<double> d0(n_tokens, 1.0), d1(n_experts, 1.0), column(n_experts);
  for (int iteration = 0; iteration < kSinkhornMaxIterations; ++iteration) {
    for (int64_t t = 0; t < n_tokens; ++t) {
      double sum = 0;
      for (int64_t e = 0; e < n_experts; ++e) sum += d1[e] * cost[t * n_experts + e];
      d0[t] = 1.0 / static_cast<double>(n_tokens) / (sum + kEps);
    }
    std::fill(column.begin(), column.end(), 0.0);
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t e = 0; e < n_experts; ++e) column[e] += d0[t] * cost[t * n_experts + e];
    double change = 0;
    for (int64_t e = 0; e < n_experts; ++e) {
      const double updated = 1.0 / static_cast<double>(n_experts) / (column[e] + kEps);
      change += std::abs(d1[e] - updated);
      d1[e] = updated;
    }
    if (change / static_cast<double>(n_experts) <= kSinkhornTolerance) break;
  }
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t e = 0; e < n_experts; ++e) cost[t * n_experts + e] *= d1[e] * d0[t];
  return cost;
}

}  // namespace moe::train
