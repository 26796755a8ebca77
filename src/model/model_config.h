// ModelConfig: the architecture-independent description of an MoE transformer, read from an HF
// config.json or GGUF metadata and written back to either.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "kernels/rope.h"
#include "moe/router.h"

namespace moe::model {

enum class Arch { kMixtral, kQwen2Moe, kQwen3Moe, kOlmoe };

enum class QkNorm {
  kNone,
  kPerHead,  // Qwen3-MoE: RMSNorm over head_dim, weight [head_dim]
  kWhole,    // OLMoE: RMSNorm over the whole q (or k) projection, weight [heads * head_dim]
};

struct ModelConfig {
  Arch arch = Arch::kMixtral;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_positions = 0;       // context length the model was trained for
  int64_t expert_ffn = 0;          // intermediate size of one routed expert
  int64_t shared_expert_ffn = 0;   // 0 = no shared expert (Qwen2-MoE: sigmoid-gated shared expert)
  RouterConfig router;             // n_experts, top_k, score function, normalisation
  float rms_eps = 1e-5f;
  double rope_theta = 10000.0;
  kernels::RopeStyle rope_style = kernels::RopeStyle::kNeox;
  bool qkv_bias = false;           // Qwen2-MoE
  QkNorm qk_norm = QkNorm::kNone;
  std::optional<float> clip_qkv;   // OLMoE: clamp q, k, v to [-c, c]
  bool tie_embeddings = false;

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  // Throws ConfigError naming the HF key of the first inconsistent value.
  void validate() const;
};

const char* arch_name(Arch arch);           // "mixtral", "qwen2moe", ...
const char* hf_model_type(Arch arch);       // config.json "model_type"
const char* gguf_arch_name(Arch arch);      // general.architecture (Mixtral is llama.cpp's "llama")

// `source` names the file in error messages.
ModelConfig config_from_hf(const nlohmann::json& json, const std::string& source);
nlohmann::json config_to_hf(const ModelConfig& config);
ModelConfig config_from_gguf(const io::GgufMetadata& meta, const std::string& source);
void config_to_gguf(const ModelConfig& config, io::GgufMetadata& meta);

}  // namespace moe::model
