// Routing math: scores, group limiting, top-k with lowest-id tie-breaking, weight normalisation.
// Everything per token is computed in a fixed order, so routing is reproducible across layouts.
#include "moe/router.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/error.h"

namespace moe {

void RouterConfig::validate() const {
  MOE_CHECK(n_experts >= 1, ConfigError, "num_experts: must be >= 1, got ", n_experts);
  MOE_CHECK(top_k >= 1 && top_k <= n_experts, ConfigError, "num_experts_per_tok: must be in [1, ",
            n_experts, "], got ", top_k);
  MOE_CHECK(n_groups >= 1 && n_experts % n_groups == 0, ConfigError, "n_group: ", n_groups,
            " does not divide num_experts = ", n_experts);
  MOE_CHECK(topk_groups >= 1 && topk_groups <= n_groups, ConfigError, "topk_group: must be in [1, ",
            n_groups, "], got ", topk_groups);
  MOE_CHECK(top_k <= topk_groups * (n_experts / n_groups), ConfigError, "num_experts_per_tok: ", top_k,
            " exceeds the experts in topk_group = ", topk_groups, " groups");
  MOE_CHECK(expert_bias.empty() || static_cast<int64_t>(expert_bias.size()) == n_experts, ConfigError,
            "expert bias: ", expert_bias.size(), " values but num_experts = ", n_experts);
}

std::string RouterConfig::describe() const {
  std::ostringstream out;
  out << (score_function == ScoreFunction::kSoftmax ? "softmax" : "sigmoid") << ", top-" << top_k
      << " of " << n_experts << (renormalize ? ", renormalised" : ", not renormalised");
  if (n_groups > 1) out << ", " << topk_groups << " of " << n_groups << " groups";
  if (!expert_bias.empty()) out << ", expert bias";
  if (routed_scaling_factor != 1.0f) out << ", scaled x" << routed_scaling_factor;
  return out.str();
}

namespace {

// Indices of the k largest values, descending, ties to the lowest index.
void top_k_indices(const float* values, int64_t n, int64_t k, std::vector<int32_t>& order) {
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return values[a] > values[b] || (values[a] == values[b] && a < b);
  });
  order.resize(k);
}

void softmax(const float* logits, float* out, int64_t n) {
  const float max = *std::max_element(logits, logits + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = std::exp(logits[i] - max);
    sum += out[i];
  }
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(out[i] / sum);
}

// Masks (to -inf) the experts outside the best topk_groups groups of `selection`.
void limit_to_groups(std::vector<float>& selection, const RouterConfig& config) {
  const int64_t group_size = config.n_experts / config.n_groups;
  std::vector<float> group_scores(config.n_groups);
  std::vector<int32_t> order;
  for (int64_t g = 0; g < config.n_groups; ++g) {
    const float* scores = selection.data() + g * group_size;
    if (config.score_function == ScoreFunction::kSigmoid) {
      top_k_indices(scores, group_size, std::min<int64_t>(2, group_size), order);
      float sum = 0.0f;
      for (int32_t index : order) sum += scores[index];
      group_scores[g] = sum;
    } else {
      group_scores[g] = *std::max_element(scores, scores + group_size);
    }
  }
  top_k_indices(group_scores.data(), config.n_groups, config.topk_groups, order);
  std::vector<bool> keep(config.n_groups, false);
  for (int32_t g : order) keep[g] = true;
  for (int64_t g = 0; g < config.n_groups; ++g)
    if (!keep[g])
      std::fill(selection.begin() + g * group_size, selection.begin() + (g + 1) * group_size,
                -std::numeric_limits<float>::infinity());
}

}  // namespace

Routing route(const float* logits, int64_t n_tokens, const RouterConfig& config) {
  const int64_t n_experts = config.n_experts, k = config.top_k;
  Routing routing;
  routing.n_tokens = n_tokens;
  routing.top_k = k;
  routing.expert_ids.resize(n_tokens * k);
  routing.weights.resize(n_tokens * k);
  std::vector<float> scores(n_experts), selection(n_experts);
  std::vector<int32_t> chosen;
  for (int64_t token = 0; token < n_tokens; ++token) {
    const float* row = logits + token * n_experts;
    if (config.score_function == ScoreFunction::kSoftmax)
      softmax(row, scores.data(), n_experts);
    else
      for (int64_t e = 0; e < n_experts; ++e) scores[e] = 1.0f / (1.0f + std::exp(-row[e]));
    for (int64_t e = 0; e < n_experts; ++e)
      selection[e] = scores[e] + (config.expert_bias.empty() ? 0.0f : config.expert_bias[e]);
    if (config.n_groups > 1) limit_to_groups(selection, config);
    top_k_indices(selection.data(), n_experts, k, chosen);

    float sum = 0.0f;
    for (int64_t j = 0; j < k; ++j) sum += scores[chosen[j]];
    for (int64_t j = 0; j < k; ++j) {
      float weight = scores[chosen[j]];
      if (config.renormalize) weight /= sum;
      routing.expert_ids[token * k + j] = chosen[j];
      routing.weights[token * k + j] = weight * config.routed_scaling_factor;
    }
  }
  return routing;
}

}  // namespace moe
