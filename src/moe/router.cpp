// Routing math: scores, group limiting, top-k with lowest-id tie-breaking, weight normalisation.
// Everything per token is computed in a fixed order, so routing is reproducible across layouts.
// The formulas follow Megatron-Core's topk_routing_with_score_function (DESIGN.md section 3).
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
  MOE_CHECK(top_k >= 1 && top_k <= n_experts, ConfigError, "num_experts_per_tok: must be in [1, ", n_experts, "], got ",
            top_k);
  MOE_CHECK(n_groups >= 1 && n_experts % n_groups == 0, ConfigError, "n_group: ", n_groups,
            " does not divide num_experts = ", n_experts);
  MOE_CHECK(topk_groups >= 1 && topk_groups <= n_groups, ConfigError, "topk_group: must be in [1, ", n_groups,
            "], got ", topk_groups);
  MOE_CHECK(top_k <= topk_groups * (n_experts / n_groups), ConfigError, "num_experts_per_tok: ", top_k,
            " exceeds the experts in topk_group = ", topk_groups, " groups");
  MOE_CHECK(expert_bias.empty() || static_cast<int64_t>(expert_bias.size()) == n_experts, ConfigError,
            "expert bias: ", expert_bias.size(), " values but num_experts = ", n_experts);
}

std::string RouterConfig::describe() const {
  std::ostringstream out;
  out << score_function_name(score_function) << ", top-" << top_k << " of " << n_experts
      << (renormalize ? ", renormalised" : ", not renormalised");
  if (n_groups > 1) out << ", " << topk_groups << " of " << n_groups << " groups";
  if (!expert_bias.empty()) out << ", expert bias";
  if (routed_scaling_factor != 1.0f) out << ", scaled x" << routed_scaling_factor;
  return out.str();
}

const char* score_function_name(ScoreFunction f) {
  switch (f) {
    case ScoreFunction::kSoftmax:
      return "softmax";
    case ScoreFunction::kSigmoid:
      return "sigmoid";
    case ScoreFunction::kSqrtSoftplus:
      return "sqrtsoftplus";
  }
  return "?";
}

std::optional<ScoreFunction> score_function_from_name(const std::string& name) {
  for (ScoreFunction f : {ScoreFunction::kSoftmax, ScoreFunction::kSigmoid, ScoreFunction::kSqrtSoftplus})
    if (name == score_function_name(f)) return f;
  return std::nullopt;
}

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }

}  // namespace

double elementwise_score(ScoreFunction f, double logit) {
  MOE_ASSERT(f != ScoreFunction::kSoftmax);
  return f == ScoreFunction::kSigmoid ? sigmoid(logit) : std::sqrt(softplus(logit));
}

double elementwise_score_derivative(ScoreFunction f, double logit) {
  MOE_ASSERT(f != ScoreFunction::kSoftmax);
  if (f == ScoreFunction::kSigmoid) {
    const double s = sigmoid(logit);
    return s * (1.0 - s);
  }
  // d sqrt(softplus(x)) = softplus'(x) / (2 sqrt(softplus(x))); 0 where softplus underflows to 0.
  const double root = std::sqrt(softplus(logit));
  return root > 0 ? (logit > 20.0 ? 1.0 : sigmoid(logit)) / (2.0 * root) : 0.0;
}

namespace {

// Megatron adds this to the sums of elementwise scores it divides by.
constexpr double kSigmoidNormEps = 1e-20;

// Masks (to -inf) the values outside the best topk_groups groups.
void limit_to_groups(std::vector<double>& values, const RouterConfig& config, std::vector<int32_t>& order) {
  const int64_t group_size = config.n_experts / config.n_groups;
  const int64_t per_group =
      std::min(group_size, config.group_score_top.value_or(config.score_function == ScoreFunction::kSoftmax ? 1 : 2));
  std::vector<double> group_scores(config.n_groups, 0.0);
  for (int64_t g = 0; g < config.n_groups; ++g) {
    top_k_indices(values.data() + g * group_size, group_size, per_group, order);
    for (int32_t index : order) group_scores[g] += values[g * group_size + index];
  }
  top_k_indices(group_scores.data(), config.n_groups, config.topk_groups, order);
  std::vector<bool> keep(config.n_groups, false);
  for (int32_t g : order) keep[g] = true;
  for (int64_t g = 0; g < config.n_groups; ++g)
    if (!keep[g])
      std::fill(values.begin() + g * group_size, values.begin() + (g + 1) * group_size,
                -std::numeric_limits<double>::infinity());
}

}  // namespace

double softmax(const float* logits, int64_t n, double* out) {
  const double max = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += out[i] = std::exp(logits[i] - max);
  for (int64_t i = 0; i < n; ++i) out[i] /= sum;
  return max + std::log(sum);
}

void top_k_indices(const double* values, int64_t n, int64_t k, std::vector<int32_t>& order) {
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int32_t a, int32_t b) { return values[a] > values[b] || (values[a] == values[b] && a < b); });
  order.resize(k);
}

void route_token(const float* logits, const RouterConfig& config, std::span<const float> bias, int32_t* experts,
                 float* weights, RouteScratch& work) {
  const int64_t n = config.n_experts, k = config.top_k;
  work.scores.resize(n);
  work.selection.resize(n);
  work.chosen_scores.resize(k);
  // Softmax renormalised over the k selects on the logits (the same order as the probabilities,
  // and Megatron's group scores), then weighs by a softmax over the k chosen logits.
  const bool softmax_of_chosen = config.score_function == ScoreFunction::kSoftmax && config.renormalize;
  if (config.score_function != ScoreFunction::kSoftmax)
    for (int64_t e = 0; e < n; ++e) work.scores[e] = elementwise_score(config.score_function, logits[e]);
  else if (!softmax_of_chosen)
    softmax(logits, n, work.scores.data());
  for (int64_t e = 0; e < n; ++e)
    work.selection[e] = (softmax_of_chosen ? logits[e] : work.scores[e]) + (bias.empty() ? 0.0 : bias[e]);
  if (config.n_groups > 1) limit_to_groups(work.selection, config, work.order);
  top_k_indices(work.selection.data(), n, k, work.chosen);

  if (softmax_of_chosen) {
    work.chosen_logits.resize(k);
    for (int64_t j = 0; j < k; ++j) work.chosen_logits[j] = logits[work.chosen[j]];
    softmax(work.chosen_logits.data(), k, work.chosen_scores.data());
  } else {
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += work.chosen_scores[j] = work.scores[work.chosen[j]];
    if (config.renormalize)
      for (double& w : work.chosen_scores) w /= sum + kSigmoidNormEps;
  }
  for (int64_t j = 0; j < k; ++j) {
    experts[j] = work.chosen[j];
    weights[j] = static_cast<float>(work.chosen_scores[j] * config.routed_scaling_factor);
  }
}

Routing route(const float* logits, int64_t n_tokens, const RouterConfig& config) {
  const int64_t k = config.top_k;
  Routing routing;
  routing.n_tokens = n_tokens;
  routing.top_k = k;
  routing.expert_ids.resize(n_tokens * k);
  routing.weights.resize(n_tokens * k);
  RouteScratch scratch;
  for (int64_t token = 0; token < n_tokens; ++token)
    route_token(logits + token * config.n_experts, config, config.expert_bias, routing.expert_ids.data() + token * k,
                routing.weights.data() + token * k, scratch);
  return routing;
}

}  // namespace moe
