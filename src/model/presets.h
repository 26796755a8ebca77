// Presets for `moe init` (DESIGN.md section 5): small random-weight models of each architecture,
// deterministic for a seed, sized so that logits are well separated (greedy decisions are not
// near-ties).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace moe::model {

std::vector<std::string> preset_names();
// Throws UsageError naming --preset for an unknown name.
ModelConfig preset_config(const std::string& name);
// The preset's tokenizer alone (what make_preset_model gives the model).
tokenizer::Vocab preset_vocab(const std::string& name);
// Random weights in `dtype` (f32, f16 or bf16 for HF output; any for GGUF) and the preset's
// tokenizer. The same (name, seed, dtype) gives the same bytes.
Model make_preset_model(const std::string& name, uint64_t seed, DType dtype);

}  // namespace moe::model
