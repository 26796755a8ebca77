// Mixtral (HF MixtralForCausalLM; llama.cpp stores it as its `llama` arch with q/k rows permuted
// for interleaved RoPE): softmax router renormalised over the top-k (TRT-LLM's RENORM).
#include "model/arch/arch_table.h"
#include "model/arch/preset_chat_templates.h"

namespace moe::model {
namespace {

void traits(LayerSpec& layer) { layer.ffn.router.renormalize = true; }

void read_hf(const HfKeys& keys, ModelConfig& config, LayerSpec& layer) {
  layer.ffn.expert_ffn = keys.get<int64_t>("intermediate_size");
  layer.ffn.router.n_experts = keys.get<int64_t>("num_local_experts");
  // HF's Mixtral masks attention to the last sliding_window positions; moe.cpp attends to all, the
  // same only when the window covers the whole context.
  if (keys.has("sliding_window"))
    MOE_CHECK(keys.get<int64_t>("sliding_window") >= config.max_positions, ConfigError, keys.source(),
              ": sliding_window ", keys.get<int64_t>("sliding_window"),
              " is not supported (sliding-window attention; null or >= max_position_embeddings = ",
              config.max_positions, ")");
}

void write_hf(const ModelConfig& config, nlohmann::json& json) {
  json["intermediate_size"] = config.moe().expert_ffn;
  json["num_local_experts"] = config.n_experts();
}

void read_gguf(const GgufKeys&, ModelConfig& config, LayerSpec&) {
  config.rope_style = kernels::RopeStyle::kInterleaved;  // q/k rows permuted by the converter
}

}  // namespace

extern const ArchTable kMixtralArch = {.arch = Arch::kMixtral,
                                       .name = "mixtral",
                                       .hf_model_type = "mixtral",
                                       .hf_architecture = "MixtralForCausalLM",
                                       .gguf_arch = "llama",
                                       .hf_moe_block = "block_sparse_moe.",
                                       .hf_expert_roles = {"w1", "w3", "w2"},
                                       .gguf_interleaved_rope = true,
                                       .preset_spm = true,
                                       .preset_pre_tokenizer = "",
                                       .preset_chat_template = kMixtralChatTemplate,
                                       .traits = traits,
                                       .read_hf = read_hf,
                                       .write_hf = write_hf,
                                       .read_gguf = read_gguf,
                                       .preset_rope_theta = 1e6};

}  // namespace moe::model
