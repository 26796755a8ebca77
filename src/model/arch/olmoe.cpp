// OLMoE: softmax router (top-k weights renormalised only with norm_topk_prob), RMSNorm over the
// whole q and k projections before RoPE, optional clamping of q, k, v (clip_qkv).
#include "model/arch/arch_table.h"
#include "model/arch/preset_chat_templates.h"

namespace moe::model {
namespace {

void traits(LayerSpec& layer) { layer.attention.qk_norm = QkNorm::kWhole; }

void read_hf(const HfKeys& keys, ModelConfig&, LayerSpec& layer) {
  layer.ffn.expert_ffn = keys.get<int64_t>("intermediate_size");
  layer.ffn.router.n_experts = keys.get<int64_t>("num_experts");
  layer.ffn.router.renormalize = keys.get<bool>("norm_topk_prob", false);
  if (keys.has("clip_qkv")) layer.attention.clip_qkv = keys.get<float>("clip_qkv");
}

void write_hf(const ModelConfig& config, nlohmann::json& json) {
  json["intermediate_size"] = config.moe().expert_ffn;
  json["num_experts"] = config.n_experts();
  json["norm_topk_prob"] = config.moe().router.renormalize;
  const auto& clip = config.attention().clip_qkv;
  json["clip_qkv"] = clip ? nlohmann::json(*clip) : nlohmann::json();
}

void read_gguf(const GgufKeys& keys, ModelConfig&, LayerSpec& layer) {
  if (const auto clip = keys.get_float("attention.clamp_kqv")) layer.attention.clip_qkv = static_cast<float>(*clip);
}

}  // namespace

extern const ArchTable kOlmoeArch = {.arch = Arch::kOlmoe,
                                     .name = "olmoe",
                                     .hf_model_type = "olmoe",
                                     .hf_architecture = "OlmoeForCausalLM",
                                     .gguf_arch = "olmoe",
                                     .hf_moe_block = "mlp.",
                                     .hf_expert_roles = {"gate_proj", "up_proj", "down_proj"},
                                     .gguf_interleaved_rope = false,
                                     .preset_spm = false,
                                     .preset_pre_tokenizer = "gpt2",
                                     .preset_chat_template = kOlmoeChatTemplate,
                                     .traits = traits,
                                     .read_hf = read_hf,
                                     .write_hf = write_hf,
                                     .read_gguf = read_gguf,
                                     .preset_rope_theta = 1e4};

}  // namespace moe::model
