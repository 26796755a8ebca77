// OLMoE: softmax router (top-k weights renormalised only with norm_topk_prob), RMSNorm over the
// whole q and k projections before RoPE, optional clamping of q, k, v (clip_qkv).
#include "model/arch/arch_table.h"

namespace moe::model {
namespace {

void read_hf(const HfKeys& keys, ModelConfig& config) {
  const auto expert_ffn = keys.get<int64_t>("intermediate_size");
  const auto n_experts = keys.get<int64_t>("num_experts");
  const auto renormalize = keys.get<bool>("norm_topk_prob", false);
  const std::optional<float> clip =
      keys.has("clip_qkv") ? std::optional<float>(keys.get<float>("clip_qkv")) : std::nullopt;
  for_each_layer(config, [&](LayerSpec& layer) {
    layer.ffn.expert_ffn = expert_ffn;
    layer.ffn.router.n_experts = n_experts;
    layer.ffn.router.renormalize = renormalize;
    layer.attention.qk_norm = QkNorm::kWhole;
    layer.attention.clip_qkv = clip;
  });
}

void write_hf(const ModelConfig& config, nlohmann::json& json) {
  json["intermediate_size"] = config.moe().expert_ffn;
  json["num_experts"] = config.n_experts();
  json["norm_topk_prob"] = config.moe().router.renormalize;
  const auto& clip = config.attention().clip_qkv;
  json["clip_qkv"] = clip ? nlohmann::json(*clip) : nlohmann::json();
}

void read_gguf(const GgufKeys& keys, ModelConfig& config) {
  std::optional<float> clip;
  if (const auto value = keys.get_float("attention.clamp_kqv")) clip = static_cast<float>(*value);
  for_each_layer(config, [&](LayerSpec& layer) {
    layer.ffn.router.renormalize = false;
    layer.attention.qk_norm = QkNorm::kWhole;
    layer.attention.clip_qkv = clip;
  });
}

void preset(ModelConfig& config) {
  config.rope_theta = 1e4;
  for_each_layer(config, [](LayerSpec& layer) { layer.attention.qk_norm = QkNorm::kWhole; });
}

}  // namespace

extern const ArchTable kOlmoeArch = {
    Arch::kOlmoe, "olmoe", "olmoe", "OlmoeForCausalLM", "olmoe",
    "mlp.", {"gate_proj", "up_proj", "down_proj"}, false, false, "gpt2",
    read_hf, write_hf, read_gguf, preset,
};

}  // namespace moe::model
