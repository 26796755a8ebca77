// Mixtral (HF MixtralForCausalLM; llama.cpp stores it as its `llama` arch with q/k rows permuted
// for interleaved RoPE): softmax router renormalised over the top-k (TRT-LLM's RENORM).
#include "model/arch/arch_table.h"

namespace moe::model {
namespace {

void read_hf(const HfKeys& keys, ModelConfig& config) {
  const auto expert_ffn = keys.get<int64_t>("intermediate_size");
  const auto n_experts = keys.get<int64_t>("num_local_experts");
  for_each_layer(config, [&](LayerSpec& layer) {
    layer.ffn.expert_ffn = expert_ffn;
    layer.ffn.router.n_experts = n_experts;
    layer.ffn.router.renormalize = true;
  });
}

void write_hf(const ModelConfig& config, nlohmann::json& json) {
  json["intermediate_size"] = config.moe().expert_ffn;
  json["num_local_experts"] = config.n_experts();
}

void read_gguf(const GgufKeys&, ModelConfig& config) {
  config.rope_style = kernels::RopeStyle::kInterleaved;  // q/k rows permuted by the converter
  for_each_layer(config, [](LayerSpec& layer) { layer.ffn.router.renormalize = true; });
}

void preset(ModelConfig& config) {
  config.rope_theta = 1e6;
  for_each_layer(config, [](LayerSpec& layer) { layer.ffn.router.renormalize = true; });
}

}  // namespace

extern const ArchTable kMixtralArch = {
    Arch::kMixtral, "mixtral", "mixtral", "MixtralForCausalLM", "llama",
    "block_sparse_moe.", {"w1", "w3", "w2"}, true, true, "",
    read_hf, write_hf, read_gguf, preset,
};

}  // namespace moe::model
