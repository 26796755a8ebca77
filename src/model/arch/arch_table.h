// One table per architecture (model/arch/<name>.cpp): its names in each format, how its own config
// keys fill the layer-by-layer description (the keys every architecture shares are read in
// model_config.cpp), its tensor names beyond the common ones, and its preset defaults. Adding an
// architecture is one such file, its row in arch_registry.cpp and its value in Arch.
#pragma once

#include <array>
#include <span>
#include <string>

#include "model/arch/config_keys.h"
#include "model/model_config.h"

namespace moe::model {

struct ArchTable {
  Arch arch;
  const char* name;             // "mixtral": presets, messages
  const char* hf_model_type;    // config.json "model_type"
  const char* hf_architecture;  // config.json "architectures"[0]
  const char* gguf_arch;        // general.architecture
  // HF tensor names of the MoE block of layer N: "model.layers.N." + moe_block + "gate.weight", and
  // its routed experts' gate, up and down projections: ... + "experts.E." + role + ".weight".
  const char* hf_moe_block;
  std::array<const char*, 3> hf_expert_roles;
  // The GGUF stores q/k rows interleaved for llama.cpp's RoPE (its `llama` arch).
  bool gguf_interleaved_rope;
  // Tokenizer of presets: SentencePiece (else byte-level BPE) and the BPE pre-tokenizer.
  bool preset_spm;
  const char* preset_pre_tokenizer;
  const char* preset_chat_template;  // the real instruct model's (arch/preset_chat_templates.h); may be null

  // The architecture's defaults for every layer (q/k norms, biases, routing), before its keys.
  void (*traits)(LayerSpec& layer);
  // The architecture's own keys. `layer` is the spec every layer starts from (the common keys and
  // the traits already in it); config-wide values go to `config`.
  void (*read_hf)(const HfKeys& keys, ModelConfig& config, LayerSpec& layer);
  void (*write_hf)(const ModelConfig& config, nlohmann::json& json);
  void (*read_gguf)(const GgufKeys& keys, ModelConfig& config, LayerSpec& layer);  // may be null
  double preset_rope_theta;
  // HF name of the shared experts' block of layer N: "model.layers.N." + this + "gate_proj.weight".
  const char* hf_shared_block = "mlp.shared_expert.";
  // The table reads rope_scaling itself (else a config with one is refused).
  bool hf_rope_scaling = false;
  // After the layers are made from `layer`: the architecture's per-layer pattern (dense layers).
  void (*read_hf_layers)(const HfKeys& keys, ModelConfig& config) = nullptr;
  // GGUF reading and writing (llama.cpp's tensor names for this architecture) is implemented.
  bool gguf_supported = true;
  // GGUF: the per-layer pattern after the layers are made (may be null), and the architecture's own
  // keys written after the common ones (may be null).
  void (*read_gguf_layers)(const GgufKeys& keys, ModelConfig& config) = nullptr;
  void (*write_gguf)(const ModelConfig& config, io::GgufMetadata& meta) = nullptr;
};

std::span<const ArchTable* const> arch_tables();
const ArchTable& arch_table(Arch arch);

}  // namespace moe::model
