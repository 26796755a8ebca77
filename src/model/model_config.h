// ModelConfig: the one description of an MoE transformer, layer by layer (DESIGN.md section 2): per
// layer its attention (kind, heads, head dims of q/k and of v, softmax scale, RoPE, biases, q/k
// norms) and its FFN (dense or MoE; the router, the routed and shared experts and their gate).
// It is read from an HF config.json or GGUF metadata through one table per architecture
// (model/arch/) and written back to either; the inference Transformer and the training model are
// both built from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "kernels/rope.h"
#include "moe/router.h"

namespace moe::model {

enum class Arch { kMixtral, kQwen2Moe, kQwen3Moe, kOlmoe, kDeepseekV2, kDeepseekV3 };

// kMla: DeepSeek's multi-head latent attention (q through an optional low-rank q_a/q_b, k and v
// decompressed from a shared latent by kv_b, RoPE on a separate shared key part).
enum class AttentionKind { kGqa, kMla };

enum class QkNorm {
  kNone,
  kPerHead,  // Qwen3-MoE: RMSNorm over head_dim, weight [head_dim]
  kWhole,    // OLMoE: RMSNorm over the whole q (or k) projection, weight [heads * head_dim]
};

struct AttentionSpec {
  AttentionKind kind = AttentionKind::kGqa;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;    // of q and k
  int64_t head_dim_v = 0;  // of v and of the attention output per head
  float scale = 0.0f;      // multiplies q.k before the softmax (usually 1 / sqrt(head_dim))
  bool rope = true;        // false: a no-RoPE layer
  bool qkv_bias = false;   // Qwen2-MoE
  QkNorm qk_norm = QkNorm::kNone;
  std::optional<float> clip_qkv;  // OLMoE: clamp q, k, v to [-c, c]
  // kMla: head_dim = qk_nope_head_dim + qk_rope_head_dim (the RoPE part last), n_kv_heads = n_heads.
  int64_t q_lora_rank = 0;  // 0: a plain q_proj
  int64_t kv_lora_rank = 0;
  int64_t rope_dim = 0;  // qk_rope_head_dim

  int64_t nope_dim() const { return head_dim - rope_dim; }

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  int64_t v_dim() const { return n_kv_heads * head_dim_v; }
  int64_t out_dim() const { return n_heads * head_dim_v; }  // input width of o_proj
  bool operator==(const AttentionSpec&) const = default;
};

enum class FfnKind { kMoe, kDense };
// How the shared experts' output joins the routed one: times sigmoid(gate . x) (Qwen2-MoE, weight
// shared_expert_gate) or added as is (DeepSeek).
enum class SharedExpertGate { kSigmoid, kNone };

struct FfnSpec {
  FfnKind kind = FfnKind::kMoe;
  int64_t dense_ffn = 0;          // kDense: intermediate size of the SwiGLU FFN
  int64_t expert_ffn = 0;         // kMoe: intermediate size of one routed expert
  RouterConfig router;            // kMoe: experts, top-k, score function, bias, groups, scaling, normalisation
  int64_t shared_expert_ffn = 0;  // kMoe: intermediate size of the shared experts together; 0 = none
  SharedExpertGate shared_gate = SharedExpertGate::kSigmoid;
  // kMoe: the router's expert bias is a tensor of each layer (DeepSeek-V3's e_score_correction_bias).
  bool router_bias_tensor = false;

  bool is_moe() const { return kind == FfnKind::kMoe; }
  bool operator==(const FfnSpec&) const = default;
};

struct LayerSpec {
  AttentionSpec attention;
  FfnSpec ffn;
  bool operator==(const LayerSpec&) const = default;
};

// YaRN (rope_scaling type "yarn", DeepSeek's DeepseekV3YarnRotaryEmbedding): the frequencies
// between beta_fast and beta_slow rotations blend into 1/factor of themselves, cos and sin scale by
// mscale(factor, mscale) / mscale(factor, mscale_all_dim), the softmax scale by mscale(factor,
// mscale_all_dim)^2.
struct YarnScaling {
  double factor = 1.0;
  int64_t original_max_positions = 4096;
  double beta_fast = 32.0, beta_slow = 1.0;
  double mscale = 1.0, mscale_all_dim = 0.0;
  bool operator==(const YarnScaling&) const = default;
};

struct ModelConfig {
  Arch arch = Arch::kMixtral;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t max_positions = 0;  // context length the model was trained for
  float rms_eps = 1e-5f;
  double rope_theta = 10000.0;
  kernels::RopeStyle rope_style = kernels::RopeStyle::kNeox;
  std::optional<YarnScaling> rope_scaling;  // MLA layers only
  bool tie_embeddings = false;
  std::vector<LayerSpec> layers;

  int64_t n_layers() const { return static_cast<int64_t>(layers.size()); }
  // The attention shape every layer shares (validate() checks it): one KV cache geometry, one
  // split of heads over ranks.
  const AttentionSpec& attention() const { return layers.front().attention; }
  // The first MoE layer's FFN: every MoE layer has the same experts and expert size (validate()
  // checks it), so statistics, placements and expert shards are model-wide.
  const FfnSpec& moe() const;
  int64_t n_experts() const { return moe().router.n_experts; }
  // Throws ConfigError naming the HF key of the first inconsistent value.
  void validate() const;
  bool operator==(const ModelConfig&) const = default;
};

// `layer` repeated n_layers times (every published MoE model but DeepSeek's dense first layers).
std::vector<LayerSpec> uniform_layers(int64_t n_layers, const LayerSpec& layer);

const char* arch_name(Arch arch);       // "mixtral", "qwen2moe", ...
const char* hf_model_type(Arch arch);   // config.json "model_type"
const char* gguf_arch_name(Arch arch);  // general.architecture (Mixtral is llama.cpp's "llama")

// `source` names the file in error messages.
ModelConfig config_from_hf(const nlohmann::json& json, const std::string& source);
nlohmann::json config_to_hf(const ModelConfig& config);
ModelConfig config_from_gguf(const io::GgufMetadata& meta, const std::string& source);
void config_to_gguf(const ModelConfig& config, io::GgufMetadata& meta);

}  // namespace moe::model
