// Qwen2-MoE (softmax router, top-k weights renormalised only with norm_topk_prob, q/k/v biases, a
// shared expert gated by sigmoid(shared_expert_gate . x)) and Qwen3-MoE (per-head q/k RMSNorm, no
// shared expert; llama.cpp renormalises its top-k).
#include "model/arch/arch_table.h"
#include "model/arch/preset_chat_templates.h"

namespace moe::model {
namespace {

void read_moe_keys(const HfKeys& keys, LayerSpec& layer) {
  MOE_CHECK(keys.get<int64_t>("decoder_sparse_step", 1) == 1 &&
                keys.get<std::vector<int64_t>>("mlp_only_layers", {}, HfKeys::NullIs::kUnset).empty(),
            ConfigError, keys.source(),
            ": dense layers (decoder_sparse_step != 1 or mlp_only_layers) are not supported");
  layer.ffn.expert_ffn = keys.get<int64_t>("moe_intermediate_size");
  layer.ffn.router.n_experts = keys.get<int64_t>("num_experts");
  layer.ffn.router.renormalize = keys.get<bool>("norm_topk_prob", false);
}

void write_moe_keys(const ModelConfig& config, nlohmann::json& json) {
  json["moe_intermediate_size"] = config.moe().expert_ffn;
  json["intermediate_size"] = config.moe().expert_ffn;
  json["num_experts"] = config.n_experts();
  json["norm_topk_prob"] = config.moe().router.renormalize;
  json["decoder_sparse_step"] = 1;
  json["mlp_only_layers"] = nlohmann::json::array();
}

void traits_qwen2(LayerSpec& layer) { layer.attention.qkv_bias = true; }

void read_hf_qwen2(const HfKeys& keys, ModelConfig&, LayerSpec& layer) {
  read_moe_keys(keys, layer);
  layer.ffn.shared_expert_ffn = keys.get<int64_t>("shared_expert_intermediate_size", 0);
}

void write_hf_qwen2(const ModelConfig& config, nlohmann::json& json) {
  write_moe_keys(config, json);
  json["shared_expert_intermediate_size"] = config.moe().shared_expert_ffn;
}

void read_gguf_qwen2(const GgufKeys& keys, ModelConfig&, LayerSpec& layer) {
  layer.ffn.shared_expert_ffn = keys.get_int("expert_shared_feed_forward_length").value_or(0);
}

void traits_qwen3(LayerSpec& layer) {
  layer.attention.qk_norm = QkNorm::kPerHead;
  layer.ffn.router.renormalize = true;  // llama.cpp's qwen3moe; HF's config says norm_topk_prob
}

void read_hf_qwen3(const HfKeys& keys, ModelConfig&, LayerSpec& layer) {
  read_moe_keys(keys, layer);
  layer.attention.qkv_bias = keys.get<bool>("attention_bias", false);
}

void write_hf_qwen3(const ModelConfig& config, nlohmann::json& json) {
  write_moe_keys(config, json);
  json["attention_bias"] = config.attention().qkv_bias;
}

}  // namespace

extern const ArchTable kQwen2MoeArch = {.arch = Arch::kQwen2Moe,
                                        .name = "qwen2moe",
                                        .hf_model_type = "qwen2_moe",
                                        .hf_architecture = "Qwen2MoeForCausalLM",
                                        .gguf_arch = "qwen2moe",
                                        .hf_moe_block = "mlp.",
                                        .hf_expert_roles = {"gate_proj", "up_proj", "down_proj"},
                                        .gguf_interleaved_rope = false,
                                        .preset_spm = false,
                                        .preset_pre_tokenizer = "",
                                        .preset_chat_template = kQwen2ChatTemplate,
                                        .traits = traits_qwen2,
                                        .read_hf = read_hf_qwen2,
                                        .write_hf = write_hf_qwen2,
                                        .read_gguf = read_gguf_qwen2,
                                        .preset_rope_theta = 1e6};

extern const ArchTable kQwen3MoeArch = {.arch = Arch::kQwen3Moe,
                                        .name = "qwen3moe",
                                        .hf_model_type = "qwen3_moe",
                                        .hf_architecture = "Qwen3MoeForCausalLM",
                                        .gguf_arch = "qwen3moe",
                                        .hf_moe_block = "mlp.",
                                        .hf_expert_roles = {"gate_proj", "up_proj", "down_proj"},
                                        .gguf_interleaved_rope = false,
                                        .preset_spm = false,
                                        .preset_pre_tokenizer = "",
                                        .preset_chat_template = kQwen3ChatTemplate,
                                        .traits = traits_qwen3,
                                        .read_hf = read_hf_qwen3,
                                        .write_hf = write_hf_qwen3,
                                        .read_gguf = nullptr,
                                        .preset_rope_theta = 1e6};

}  // namespace moe::model
