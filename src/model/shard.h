// Shard: the part of a model one rank holds and computes under a parallel layout (DESIGN.md
// section 3): its attention heads (TP) or all of them (attention DP), its experts (moe_ep), its
// slice of every expert's FFN (moe_tp), its slice of the shared expert, and its layers (pp).
// shard_weights() binds views of exactly those bytes, so a rank reads only its shard.
#pragma once

#include <cstdint>
#include <vector>

#include "model/weights.h"

namespace moe::model {

struct Range {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

struct Shard {
  Range heads;     // query heads
  Range kv_heads;  // key/value heads (replicated across ranks when there are fewer than ranks)
  Range experts;   // routed experts held here (without Wide-EP slots)
  // Wide-EP: per layer, the expert of each slot held here, in slot order (a replicated expert
  // appears on several ranks). Empty: the `experts` range.
  std::vector<std::vector<int64_t>> slot_experts;
  Range expert_ffn;  // columns of every local expert's FFN
  Range shared_ffn;  // columns of the shared expert's FFN
  Range layers;      // this pipeline stage's layers
  bool first_stage = true;
  bool last_stage = true;
};

struct ShardLayout {
  int attention_tp = 1, attention_tp_rank = 0;
  int moe_tp = 1, moe_tp_rank = 0;
  int moe_ep = 1, moe_ep_rank = 0;
  int pp = 1, pp_rank = 0;
  // Elements per quantization block of the weights whose columns are split (o_proj, down
  // projections): slices must hold whole blocks. 1 for f32/f16/bf16.
  int64_t column_block = 1;
};

// The column block of a model's weights (largest block of o_proj and the down projections).
int64_t column_block(const ModelWeights& weights);

// Throws ConfigError naming the parallel key when the model does not divide.
Shard make_shard(const ModelConfig& config, const ShardLayout& layout);
// Views of the shard's bytes. Row slices are views into the mapped file; column slices (the
// input side of o_proj and of every down projection) are copied, reading only the slice.
// Layers outside the stage are left empty.
ModelWeights shard_weights(const ModelConfig& config, const ModelWeights& full, const Shard& shard);

}  // namespace moe::model
