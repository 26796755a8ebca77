// The scales of i8 / f8_e4m3 weights in HF checkpoint directories, named as published quantized
// checkpoints name them, and config.json's "quantization_config" (docs/FORMATS.md):
//   <module>.weight        I8 or F8_E4M3 codes [out, in]
//   <module>.weight_scale  F32, [out, 1] per output channel or [] (also [1], [out]) per tensor
//   <module>.input_scale   F32 [] or [1]: the static activation scale (fp8 W8A8), optional
// int8 per channel and fp8 per channel follow compressed-tensors ("int-quantized" /
// "float-quantized"); fp8 per tensor follows the "fp8" method of AutoFP8 / vLLM.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.h"
#include "model/weights.h"

namespace moe::model {

// Moves every "<module>.weight_scale" / "<module>.input_scale" onto its "<module>.weight" (as
// Tensor scales) and out of `tensors`. FormatError naming the tensor and `source` for a scale
// without its weight, a weight of the wrong dtype, mis-shaped scales, or an i8 / f8_e4m3 weight
// without a weight_scale.
void attach_scales(std::map<std::string, Tensor>& tensors, const std::string& source);
// Checks config.json's quantization_config, if any: quant_method "fp8" (without block-wise
// "weight_block_size") or "compressed-tensors"; anything else is a FormatError naming it.
void check_quantization_config(const nlohmann::json& config, const std::string& source);
// `tensors` with every scaled weight followed by its weight_scale (and input_scale) tensors.
NamedTensors with_scale_tensors(const NamedTensors& tensors);
// The quantization_config describing the scaled weights of `tensors` (null when there are none):
// modules left unquantized (2-D weights other than the embedding) are listed as ignored.
nlohmann::json quantization_config(const NamedTensors& tensors);
// "int8 weight-only, per-channel scales", "fp8 e4m3, per-tensor scales, static input scale", ...
// (empty for an unscaled tensor).
std::string describe_quantization(const Tensor& weight);

}  // namespace moe::model
