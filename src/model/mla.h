// Pieces of multi-head latent attention (DeepSeek-V2/V3, modeling_deepseek.py) that are not GEMMs:
// the rotary frequencies (plain, or YaRN's blend with its cos/sin scale) and RoPE on the rope part
// of each head. HF's apply_rotary_pos_emb permutes q_pe and k_pe from interleaved pairs to halves
// before rotate_half; rotating the pairs (2i, 2i + 1) in place gives the same values in another
// order, the same for q and k, so every q.k product is HF's.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "model/model_config.h"

namespace moe::model {

struct MlaRope {
  std::vector<double> inv_freq;  // [rope_dim / 2]
  double mscale = 1.0;           // multiplies cos and sin (YaRN)
};

// DeepseekV3Attention's softmax scale: head_dim^-0.5, times yarn_get_mscale(factor,
// mscale_all_dim)^2 under YaRN with mscale_all_dim set.
float mla_softmax_scale(int64_t head_dim, const std::optional<YarnScaling>& yarn);

// DeepseekV3RotaryEmbedding (no scaling) or DeepseekV3YarnRotaryEmbedding.
MlaRope mla_rope(int64_t rope_dim, double theta, const std::optional<YarnScaling>& yarn);

// Rotates, in each of n_vectors vectors of `stride` floats, the rope.inv_freq.size() pairs starting
// at `offset` for `position`.
void mla_rope_apply(const MlaRope& rope, float* vectors, int64_t n_vectors, int64_t stride, int64_t offset,
                    int64_t position);

// The latent cache's query absorption: per head h of wkv_b (a rank's heads under attention TP), the
// transpose of kv_b's k rows [nope, kv_lora_rank] as f32 [n_heads * kv_lora_rank, nope] (head h's
// rows h * kv_lora_rank on), so that one GEMM per head maps q_nope to the latent. Empty for GQA
// attention or an empty wkv_b.
Tensor mla_absorbed_uk(const AttentionSpec& a, const Tensor& wkv_b);

}  // namespace moe::model
