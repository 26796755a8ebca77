// Mapping: a rank's coordinates (dp, pp, tp and the MoE split of tp into moe_tp x moe_ep) and
// the world ranks of each group it belongs to, with TensorRT-LLM's ordering (mapping.py) and a
// data-parallel dimension outermost:
//   rank = dp_rank * (pp * tp) + pp_rank * tp + tp_rank
//   moe_ep_rank = tp_rank % moe_ep,  moe_tp_rank = tp_rank / moe_ep
// so an EP group is moe_ep consecutive ranks and a moe-TP group strides by moe_ep.
#pragma once

#include <cstdint>
#include <vector>

#include "parallel/parallel_config.h"

namespace moe::parallel {

struct Mapping {
  int world_size = 1;
  int rank = 0;  // in the world
  int tp = 1, pp = 1, dp = 1, moe_tp = 1, moe_ep = 1;
  bool attention_dp = false;  // enable_attention_dp: attention replicated inside the TP group
  int tp_rank = 0, pp_rank = 0, dp_rank = 0, moe_tp_rank = 0, moe_ep_rank = 0;
  // World ranks of this rank's groups, ordered by the group's coordinate (position i holds the
  // rank whose coordinate is i), so a group's communicator rank equals the coordinate.
  std::vector<int> tp_group, pp_group, dp_group, moe_tp_group, moe_ep_group;

  // Ranks that split attention heads: tp, or 1 under attention DP (each rank its own requests).
  int attention_tp() const { return attention_dp ? 1 : tp; }
};

// Resolves the defaults (TensorRT-LLM's) and builds rank's mapping. Throws ConfigError naming
// the keys and both values when the sizes do not fit together or do not fill world_size.
Mapping make_mapping(const ParallelConfig& config, int world_size, int rank);

// What check_model_fits needs from a model config (the lead fills it from ModelConfig).
struct ModelShape {
  int64_t n_layers = 0;           // num_hidden_layers (MoE and dense layers together)
  int64_t n_heads = 0;            // num_attention_heads
  int64_t n_kv_heads = 0;         // num_key_value_heads
  int64_t n_experts = 0;          // routed experts per MoE layer (0: a dense model)
  int64_t expert_ffn = 0;         // moe_intermediate_size of one routed expert
  int64_t shared_expert_ffn = 0;  // shared expert's intermediate size (0: none)
  int64_t hidden = 0;             // hidden_size
  // Elements per quantization block along a sliced FFN dimension; every TP slice must hold
  // whole blocks (32 for q8_0/q4_0; the lead may pass 1 for f32/f16/bf16 weights).
  int64_t quant_block = 32;
};

// Checks that the model divides as the mapping splits it, before any weight is read. Throws
// ConfigError naming the key and both values, e.g.
// "moe_expert_parallel_size = 3 does not divide num_experts = 8".
void check_model_fits(const Mapping& mapping, const ModelShape& shape);

// Layers [first, last) of pipeline stage pp_rank: contiguous, the first n_layers % pp stages one
// layer longer (TensorRT-LLM's pp_layers, torch.tensor_split).
struct LayerRange {
  int64_t first = 0, last = 0;
};
LayerRange pp_layers(const Mapping& mapping, int64_t n_layers);

// Experts [first, last) held by moe_ep_rank: n_experts / moe_ep contiguous experts
// (TensorRT-LLM's ep_experts).
struct ExpertRange {
  int64_t first = 0, last = 0;
};
ExpertRange ep_experts(const Mapping& mapping, int64_t n_experts);

}  // namespace moe::parallel
