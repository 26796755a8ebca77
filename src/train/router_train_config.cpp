// RouterTrainConfig::validate: Megatron-Core's TransformerConfig checks on the router keys (and a
// few of our own where Megatron would silently ignore a key), each error naming the YAML key.
#include "core/error.h"
#include "train/router_train.h"

namespace moe::train {

std::string load_balancing_name(LoadBalancing type) {
  switch (type) {
    case LoadBalancing::kNone:
      return "none";
    case LoadBalancing::kAuxLoss:
      return "aux_loss";
    case LoadBalancing::kSeqAuxLoss:
      return "seq_aux_loss";
    case LoadBalancing::kSinkhorn:
      return "sinkhorn";
  }
  return "?";
}

std::string drop_policy_name(DropPolicy policy) { return policy == DropPolicy::kProbs ? "probs" : "position"; }

void RouterTrainConfig::validate() const {
  MOE_CHECK(num_experts >= 1, ConfigError, "num_experts: must be >= 1, got ", num_experts);
  MOE_CHECK(topk >= 1, ConfigError, "moe_router_topk: must be >= 1, got ", topk);
  MOE_CHECK(topk <= num_experts, ConfigError, "moe_router_topk: ", topk, " exceeds num_experts = ", num_experts);
  MOE_CHECK(aux_loss_coeff >= 0, ConfigError, "moe_aux_loss_coeff: must be >= 0, got ", aux_loss_coeff);
  MOE_CHECK(z_loss_coeff >= 0, ConfigError, "moe_z_loss_coeff: must be >= 0, got ", z_loss_coeff);
  MOE_CHECK(bias_update_rate >= 0, ConfigError, "moe_router_bias_update_rate: must be >= 0, got ", bias_update_rate);
  MOE_CHECK(!capacity_factor || *capacity_factor > 0, ConfigError, "moe_expert_capacity_factor: must be > 0, got ",
            capacity_factor.value_or(0));
  MOE_CHECK(!pad_to_capacity || capacity_factor, ConfigError,
            "moe_pad_expert_input_to_capacity: needs moe_expert_capacity_factor");
  MOE_CHECK(!topk_scaling_factor || *topk_scaling_factor > 0, ConfigError,
            "moe_router_topk_scaling_factor: must be > 0, got ", topk_scaling_factor.value_or(0));

  const bool sinkhorn = load_balancing == LoadBalancing::kSinkhorn;
  if (sinkhorn) {
    MOE_CHECK(score_function == ScoreFunction::kSoftmax, ConfigError,
              "moe_router_score_function: sinkhorn load balancing works on softmax scores, not ",
              score_function_name(score_function));
    MOE_CHECK(aux_loss_coeff == 0, ConfigError, "moe_aux_loss_coeff: sinkhorn load balancing takes no aux loss, got ",
              aux_loss_coeff);
    MOE_CHECK(!capacity_factor, ConfigError,
              "moe_expert_capacity_factor: only works with aux_loss, seq_aux_loss or none load "
              "balancing, not sinkhorn");
    MOE_CHECK(num_groups == 0 && group_topk == 0, ConfigError,
              "moe_router_num_groups: group-limited routing does not apply to sinkhorn");
    MOE_CHECK(!topk_scaling_factor, ConfigError, "moe_router_topk_scaling_factor: not applied by sinkhorn routing");
  }
  // Softmax over one chosen logit is constant 1: its gradient would be zero.
  MOE_CHECK(sinkhorn || topk > 1 || score_function != ScoreFunction::kSoftmax || pre_softmax, ConfigError,
            "moe_router_pre_softmax: must be true when moe_router_topk is 1 with softmax scores");
  MOE_CHECK(!enable_expert_bias || score_function != ScoreFunction::kSoftmax, ConfigError,
            "moe_router_enable_expert_bias: needs moe_router_score_function sigmoid or sqrtsoftplus");

  MOE_CHECK(group_topk == 0 || num_groups > 0, ConfigError, "moe_router_group_topk: needs moe_router_num_groups");
  MOE_CHECK(num_groups == 0 || group_topk > 0, ConfigError, "moe_router_num_groups: needs moe_router_group_topk");
  if (num_groups > 0) {
    MOE_CHECK(num_experts % num_groups == 0, ConfigError, "moe_router_num_groups: ", num_groups,
              " does not divide num_experts = ", num_experts);
    MOE_CHECK(group_topk <= num_groups, ConfigError, "moe_router_group_topk: ", group_topk,
              " exceeds moe_router_num_groups = ", num_groups);
    // A group scores its top (topk / group_topk) experts: at least one.
    MOE_CHECK(group_topk <= topk, ConfigError, "moe_router_group_topk: ", group_topk,
              " exceeds moe_router_topk = ", topk);
    MOE_CHECK(topk <= group_topk * (num_experts / num_groups), ConfigError, "moe_router_topk: ", topk, " exceeds the ",
              group_topk * (num_experts / num_groups), " experts of moe_router_group_topk = ", group_topk, " groups");
  }
}

RouterConfig RouterTrainConfig::routing() const {
  RouterConfig r;
  r.n_experts = num_experts;
  r.top_k = topk;
  r.score_function = score_function;
  // Megatron renormalises softmax scores unless pre_softmax, and sigmoid scores whenever k > 1.
  r.renormalize = score_function == ScoreFunction::kSoftmax ? !pre_softmax : topk > 1;
  if (num_groups > 0) {
    r.n_groups = num_groups;
    r.topk_groups = group_topk;
    r.group_score_top = topk / group_topk;
  }
  r.routed_scaling_factor = static_cast<float>(topk_scaling_factor.value_or(1.0));
  return r;
}

}  // namespace moe::train
