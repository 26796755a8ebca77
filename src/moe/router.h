// Router: turns fp32 router logits into each token's top-k experts and combine weights: the routing
// math of inference and training, in one place (training adds jitter, losses, capacity, sinkhorn
// and the backward on top: train/router_train.h). Modes (DESIGN.md section 3): softmax scores with
// the top-k weights renormalised (Megatron's default: top-k of the logits, softmax over the k) or
// not (pre-softmax), sigmoid scores with a selection-only expert bias, group-limited top-k, and a
// routed scaling factor. Arithmetic is in double inside, fp32 in and out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace moe {

// Megatron-Core's moe_router_score_function: softmax over the experts, or an elementwise score
// per expert (sigmoid, DeepSeek-V3; sqrtsoftplus = sqrt(softplus(x)), DeepSeek-V4).
enum class ScoreFunction { kSoftmax, kSigmoid, kSqrtSoftplus };

const char* score_function_name(ScoreFunction f);  // "softmax", "sigmoid", "sqrtsoftplus"
// The value by its name; nullopt for another name.
std::optional<ScoreFunction> score_function_from_name(const std::string& name);
// Elementwise score functions (not softmax) and their derivatives d score / d logit, in double.
// softplus is PyTorch's (beta 1, threshold 20: x itself above 20).
double elementwise_score(ScoreFunction f, double logit);
double elementwise_score_derivative(ScoreFunction f, double logit);

struct RouterConfig {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  ScoreFunction score_function = ScoreFunction::kSoftmax;
  // Normalise the k chosen weights to sum 1 (Mixtral's RENORM, norm_topk_prob, DeepSeek-V3).
  bool renormalize = false;
  // Group-limited top-k: experts split into n_groups equal groups, only the topk_groups best groups
  // are eligible. A group scores the sum of its group_score_top best selection scores; unset: 1
  // (the max) with softmax, 2 with the elementwise scores (DeepSeek-V3); Megatron uses top_k /
  // topk_groups.
  int64_t n_groups = 1;
  int64_t topk_groups = 1;
  std::optional<int64_t> group_score_top;
  // Multiplies the final weights (DeepSeek-V3's routed_scaling_factor).
  float routed_scaling_factor = 1.0f;
  // Added to the scores for selection only (aux-loss-free balancing); empty = none.
  std::vector<float> expert_bias;

  void validate() const;         // throws ConfigError naming the offending key
  std::string describe() const;  // "softmax, top-2 of 8, renormalised"
  bool operator==(const RouterConfig&) const = default;
};

// Per token, k experts in descending order of selection score (ties: lowest expert id) and their
// combine weights: expert_ids[t * top_k + j], weights[t * top_k + j].
struct Routing {
  int64_t n_tokens = 0;
  int64_t top_k = 0;
  std::vector<int32_t> expert_ids;
  std::vector<float> weights;
};

// Buffers of route_token, reused across tokens.
struct RouteScratch {
  std::vector<double> scores, selection, chosen_scores;
  std::vector<float> chosen_logits;
  std::vector<int32_t> chosen, order;
};

// One token: logits [n_experts] -> experts[top_k] in descending order of selection score (ties to
// the lowest id) and their weights[top_k]. bias: [n_experts] added for selection only, or empty.
void route_token(const float* logits, const RouterConfig& config, std::span<const float> bias, int32_t* experts,
                 float* weights, RouteScratch& scratch);

// logits: [n_tokens, n_experts] fp32; config.expert_bias as the bias.
Routing route(const float* logits, int64_t n_tokens, const RouterConfig& config);

// The pieces the training router reuses. Softmax of n logits in double into out; returns the
// log-sum-exp.
double softmax(const float* logits, int64_t n, double* out);
// Indices of the k largest values, descending, ties to the lowest index.
void top_k_indices(const double* values, int64_t n, int64_t k, std::vector<int32_t>& order);

}  // namespace moe
