// The router in training mode (Megatron-Core's TopKRouter): top-k or sinkhorn selection, the
// auxiliary load-balancing losses (aux, sequence-level aux), the z-loss, expert capacity with token
// dropping (by probability or position) and optional padding, and the aux-loss-free expert-bias
// update. Forward keeps what backward needs; backward turns the gradient of the combine weights
// into the gradient of the router logits, adding the gradients of the aux and z losses. Formulas
// and their sources: docs/TRAINING.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "moe/router.h"

namespace moe::parallel {
class Communicator;
}

namespace moe::train {

enum class LoadBalancing { kNone, kAuxLoss, kSeqAuxLoss, kSinkhorn };
enum class DropPolicy { kProbs, kPosition };

// Megatron-Core's router options (the YAML key of each field in the comment).
struct RouterTrainConfig {
  int64_t num_experts = 0;                                 // num_experts
  int64_t topk = 2;                                        // moe_router_topk
  LoadBalancing load_balancing = LoadBalancing::kAuxLoss;  // moe_router_load_balancing_type
  double aux_loss_coeff = 0.0;                             // moe_aux_loss_coeff (0 = no aux loss)
  double z_loss_coeff = 0.0;                               // moe_z_loss_coeff (0 = off)
  std::optional<double> capacity_factor;                   // moe_expert_capacity_factor (unset = dropless)
  DropPolicy drop_policy = DropPolicy::kProbs;             // moe_token_drop_policy
  bool pad_to_capacity = false;                            // moe_pad_expert_input_to_capacity
  bool pre_softmax = false;                                // moe_router_pre_softmax
  ScoreFunction score_function = ScoreFunction::kSoftmax;  // moe_router_score_function
  int64_t num_groups = 0;                                  // moe_router_num_groups (0 = no group limit)
  int64_t group_topk = 0;                                  // moe_router_group_topk
  std::optional<double> topk_scaling_factor;               // moe_router_topk_scaling_factor
  bool enable_expert_bias = false;                         // moe_router_enable_expert_bias
  double bias_update_rate = 1e-3;                          // moe_router_bias_update_rate

  void validate() const;  // throws ConfigError naming the offending YAML key
  // The selection and weights these options describe, as the model's router (moe/router.h): the
  // routing math inference runs. Sinkhorn selection is training's own (route_forward).
  RouterConfig routing() const;
};

// Names as Megatron spells them ("aux_loss", "probs", ...), for messages and printing.
std::string load_balancing_name(LoadBalancing type);
std::string drop_policy_name(DropPolicy policy);

// What forward keeps for backward (opaque to callers). Shapes: T tokens, E experts, k = topk.
struct RouterSaved {
  int64_t n_tokens = 0;
  std::vector<float> logits;       // [T][E]
  std::vector<int32_t> topk_ids;   // [T][k] chosen experts before capacity
  std::vector<int32_t> experts;    // [T][k] as returned (-1 where dropped)
  std::vector<double> aux_counts;  // [E] (aux_loss) or [B][E] (seq_aux_loss), over the aux group
  double aux_tokens = 0;           // T (aux_loss) or S (seq_aux_loss), summed over the aux group
  int64_t n_sequences = 0;         // B of seq_aux_loss
  double z_coeff = 0;              // z-loss coefficient divided by the aux group's size
};

struct RouterTrainOutput {
  std::vector<int32_t> experts;            // [T][k], -1 where the (token, expert) pair was dropped
  std::vector<float> weights;              // [T][k], 0 where dropped
  std::vector<int64_t> tokens_per_expert;  // [E] kept assignments (before padding)
  int64_t capacity = 0;                    // rows per expert when capacity is set (else 0)
  int64_t dropped = 0;                     // dropped (token, expert) pairs
  double aux_loss = 0.0;                   // already times its coefficient
  double z_loss = 0.0;                     // already times its coefficient
};

// logits: [n_tokens][num_experts] fp32. expert_bias: [E], or empty for zeros; used (for selection
// only) when enable_expert_bias, else it must be empty.
// seq_length: tokens per sequence for the sequence-level aux loss; tokens are sequence by sequence
// (token t is position t % S of sequence t / S) and S must divide n_tokens. Ignored otherwise.
// aux_group: where Megatron sums the aux loss's counts and token totals (its TP x CP group); the
// z-loss coefficient is divided by its size. Null = this process alone.
// Each row's k experts are in descending order of selection score, ties to the lowest id.
RouterTrainOutput route_forward(std::span<const float> logits, int64_t n_tokens, const RouterTrainConfig& config,
                                std::span<const float> expert_bias, int64_t seq_length,
                                parallel::Communicator* aux_group, RouterSaved* saved);

// d_weights: [T][k] gradient of the loss w.r.t. the combine weights (ignored where dropped).
// Writes (overwrites) d_logits [T][E]: that gradient through the score function, plus the
// gradients of the aux and z losses (each loss enters the total loss with weight 1, its
// coefficient already applied).
void route_backward(const RouterSaved& saved, const RouterTrainConfig& config, std::span<const float> d_weights,
                    std::span<float> d_logits);

// DeepSeek-V3's aux-loss-free balancing after a global batch (tokens_per_expert summed over the
// data-parallel ranks by the caller): bias[i] += rate * sign(mean(tokens) - tokens[i]).
void update_expert_bias(std::span<float> expert_bias, std::span<const int64_t> tokens_per_expert, double rate);

}  // namespace moe::train
