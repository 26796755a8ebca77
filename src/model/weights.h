// ModelWeights: every tensor of the model as a view (usually into a memory-mapped file), named
// by role. Experts are per-expert 2-D views, whether the file stores them one tensor per expert
// (HF) or merged into one 3-D tensor per layer (GGUF).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "model/model_config.h"
#include "moe/experts.h"

namespace moe::model {

struct LayerWeights {
  Tensor attn_norm;       // [hidden]
  Tensor wq, wk, wv, wo;  // [q_dim, hidden], [kv_dim, hidden] x2, [hidden, q_dim]
  // MLA: wq is q_proj [heads * head_dim, hidden] or q_b_proj [heads * head_dim, q_lora_rank] after
  // wq_a [q_lora_rank, hidden] and q_a_norm; wkv_a [kv_lora_rank + rope_dim, hidden] (the latent and
  // the shared RoPE key), kv_a_norm [kv_lora_rank], wkv_b [heads * (nope_dim + head_dim_v),
  // kv_lora_rank] (each head's k_nope rows, then its v rows); wk and wv are empty.
  Tensor wq_a, q_a_norm, wkv_a, kv_a_norm, wkv_b;
  Tensor bq, bk, bv;      // Qwen2-MoE biases, else empty
  Tensor q_norm, k_norm;  // per-head [head_dim] or whole [q_dim]/[kv_dim], else empty
  Tensor ffn_norm;        // [hidden]
  Tensor router;          // [n_experts, hidden] (MoE layers)
  Tensor router_bias;     // [n_experts]: DeepSeek-V3's e_score_correction_bias, else empty
  ExpertWeights dense;    // a dense layer's SwiGLU FFN, else empty
  std::vector<ExpertWeights> experts;
  ExpertWeights shared_expert;  // empty tensors when there is none
  Tensor shared_expert_gate;    // [1, hidden]
};

struct ModelWeights {
  Tensor token_embd;   // [vocab, hidden]
  Tensor output_norm;  // [hidden]
  Tensor output;       // [vocab, hidden] (the embedding when tied)
  std::vector<LayerWeights> layers;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Every tensor of a model (experts included) under its HF name with its shape, bound to its
// place in `weights` (resized to the config's layers and experts): what presets fill.
struct HfTensorSlot {
  Tensor* tensor;
  std::string name;
  std::vector<int64_t> shape;
  int64_t rope_heads = 0;  // q/k: heads whose rows a llama-arch GGUF stores interleaved
};
std::vector<HfTensorSlot> hf_tensor_slots(const ModelConfig& config, ModelWeights& weights);

// Binds tensors by their HF names; a missing or mis-shaped tensor throws FormatError naming it.
ModelWeights weights_from_hf(const ModelConfig& config, const std::map<std::string, Tensor>& tensors,
                             const std::string& source);
// Binds tensors by llama.cpp's GGUF names (merged expert tensors blk.N.ffn_*_exps).
ModelWeights weights_from_gguf(const ModelConfig& config, const std::map<std::string, Tensor>& tensors,
                               const std::string& source);
// The tensors under their HF names, in file order (experts one tensor each; q/k rows in HF's
// rotate-half order, un-permuting a llama-arch GGUF).
NamedTensors weights_to_hf(const ModelConfig& config, const ModelWeights& weights);
// The tensors under their GGUF names (experts merged, q/k rows permuted for the llama arch).
NamedTensors weights_to_gguf(const ModelConfig& config, const ModelWeights& weights);

}  // namespace moe::model
