// Router: turns fp32 router logits into each token's top-k experts and combine weights.
// Modes (DESIGN.md section 3): softmax then top-k (weights renormalised or not), sigmoid scores
// with a selection-only expert bias, group-limited top-k, and a routed scaling factor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moe {

enum class ScoreFunction { kSoftmax, kSigmoid };

struct RouterConfig {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  ScoreFunction score_function = ScoreFunction::kSoftmax;
  // Normalise the k chosen weights to sum 1 (Mixtral's RENORM, norm_topk_prob, DeepSeek-V3).
  bool renormalize = false;
  // Group-limited top-k: experts split into n_groups equal groups, only the topk_groups best groups
  // are eligible. Group score: max score (softmax) or sum of the top-2 biased scores (sigmoid).
  int64_t n_groups = 1;
  int64_t topk_groups = 1;
  // Multiplies the final weights (DeepSeek-V3's routed_scaling_factor).
  float routed_scaling_factor = 1.0f;
  // Added to the scores for selection only (aux-loss-free balancing); empty = none.
  std::vector<float> expert_bias;

  void validate() const;          // throws ConfigError naming the offending key
  std::string describe() const;   // "softmax, top-2 of 8, renormalised"
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

// logits: [n_tokens, n_experts] fp32.
Routing route(const float* logits, int64_t n_tokens, const RouterConfig& config);

}  // namespace moe
