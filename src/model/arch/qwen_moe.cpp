// Qwen2-MoE (softmax router, top-k weights renormalised only with norm_topk_prob, q/k/v biases, a
// shared expert gated by sigmoid(shared_expert_gate . x)) and Qwen3-MoE (per-head q/k RMSNorm, no
// shared expert).
#include "model/arch/arch_table.h"

namespace moe::model {
namespace {

void read_moe_keys(const HfKeys& keys, ModelConfig& config) {
  MOE_CHECK(keys.get<int64_t>("decoder_sparse_step", 1) == 1 &&
                keys.get<std::vector<int64_t>>("mlp_only_layers", {}).empty(),
            ConfigError, keys.source(),
            ": dense layers (decoder_sparse_step != 1 or mlp_only_layers) are not supported");
  const auto expert_ffn = keys.get<int64_t>("moe_intermediate_size");
  const auto n_experts = keys.get<int64_t>("num_experts");
  const auto renormalize = keys.get<bool>("norm_topk_prob", false);
  for_each_layer(config, [&](LayerSpec& layer) {
    layer.ffn.expert_ffn = expert_ffn;
    layer.ffn.router.n_experts = n_experts;
    layer.ffn.router.renormalize = renormalize;
  });
}

void write_moe_keys(const ModelConfig& config, nlohmann::json& json) {
  json["moe_intermediate_size"] = config.moe().expert_ffn;
  json["intermediate_size"] = config.moe().expert_ffn;
  json["num_experts"] = config.n_experts();
  json["norm_topk_prob"] = config.moe().router.renormalize;
  json["decoder_sparse_step"] = 1;
  json["mlp_only_layers"] = nlohmann::json::array();
}

void read_hf_qwen2(const HfKeys& keys, ModelConfig& config) {
  read_moe_keys(keys, config);
  const auto shared_ffn = keys.get<int64_t>("shared_expert_intermediate_size", 0);
  for_each_layer(config, [&](LayerSpec& layer) {
    layer.ffn.shared_expert_ffn = shared_ffn;
    layer.attention.qkv_bias = true;
  });
}

void write_hf_qwen2(const ModelConfig& config, nlohmann::json& json) {
  write_moe_keys(config, json);
  json["shared_expert_intermediate_size"] = config.moe().shared_expert_ffn;
}

void read_gguf_qwen2(const GgufKeys& keys, ModelConfig& config) {
  const int64_t shared_ffn = keys.get_int("expert_shared_feed_forward_length").value_or(0);
  for_each_layer(config, [&](LayerSpec& layer) {
    layer.ffn.router.renormalize = false;
    layer.ffn.shared_expert_ffn = shared_ffn;
    layer.attention.qkv_bias = true;
  });
}

void preset_qwen2(ModelConfig& config) {
  config.rope_theta = 1e6;
  for_each_layer(config, [](LayerSpec& layer) { layer.attention.qkv_bias = true; });
}

void read_hf_qwen3(const HfKeys& keys, ModelConfig& config) {
  read_moe_keys(keys, config);
  const auto bias = keys.get<bool>("attention_bias", false);
  for_each_layer(config, [&](LayerSpec& layer) {
    layer.attention.qk_norm = QkNorm::kPerHead;
    layer.attention.qkv_bias = bias;
  });
}

void write_hf_qwen3(const ModelConfig& config, nlohmann::json& json) {
  write_moe_keys(config, json);
  json["attention_bias"] = config.attention().qkv_bias;
}

void read_gguf_qwen3(const GgufKeys&, ModelConfig& config) {
  for_each_layer(config, [](LayerSpec& layer) {
    layer.ffn.router.renormalize = true;
    layer.attention.qk_norm = QkNorm::kPerHead;
  });
}

void preset_qwen3(ModelConfig& config) {
  config.rope_theta = 1e6;
  for_each_layer(config, [](LayerSpec& layer) {
    layer.attention.qk_norm = QkNorm::kPerHead;
    layer.ffn.router.renormalize = true;
  });
}

}  // namespace

extern const ArchTable kQwen2MoeArch = {
    Arch::kQwen2Moe, "qwen2moe", "qwen2_moe", "Qwen2MoeForCausalLM", "qwen2moe",
    "mlp.", {"gate_proj", "up_proj", "down_proj"}, false, false, "",
    read_hf_qwen2, write_hf_qwen2, read_gguf_qwen2, preset_qwen2,
};

extern const ArchTable kQwen3MoeArch = {
    Arch::kQwen3Moe, "qwen3moe", "qwen3_moe", "Qwen3MoeForCausalLM", "qwen3moe",
    "mlp.", {"gate_proj", "up_proj", "down_proj"}, false, false, "",
    read_hf_qwen3, write_hf_qwen3, read_gguf_qwen3, preset_qwen3,
};

}  // namespace moe::model
