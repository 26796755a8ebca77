// Scale tensors and quantization_config of i8 / f8_e4m3 HF checkpoints.
#include "model/quant_scales.h"

#include <cmath>
#include <vector>

#include "core/error.h"

namespace moe::model {

namespace {

constexpr std::string_view kWeight = ".weight";
constexpr std::string_view kWeightScale = ".weight_scale";
constexpr std::string_view kInputScale = ".input_scale";

bool ends_with(const std::string& name, std::string_view suffix) {
  return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string strip(const std::string& name, std::string_view suffix) {
  return name.substr(0, name.size() - suffix.size());
}

bool per_row(const Tensor& weight) { return weight.scales().weight.size() > 1 || weight.rows() == 1; }

// The scaled weights of `tensors` all share one scheme (moe quantize writes one); the first one.
const Tensor* first_scaled(const NamedTensors& tensors) {
  const Tensor* first = nullptr;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.has_scales()) continue;
    if (first == nullptr) {
      first = &tensor;
      continue;
    }
    MOE_CHECK(tensor.dtype() == first->dtype() && per_row(tensor) == per_row(*first) &&
                  tensor.input_scale().has_value() == first->input_scale().has_value(),
              FormatError, "tensor '", name, "' is quantized differently from the others; one scheme per checkpoint");
  }
  return first;
}

nlohmann::json ignored_modules(const NamedTensors& tensors) {
  nlohmann::json ignored = nlohmann::json::array();
  for (const auto& [name, tensor] : tensors)
    if (tensor.n_dims() == 2 && !tensor.has_scales() && ends_with(name, kWeight) &&
        name.find("embed_tokens") == std::string::npos)
      ignored.push_back(name == "lm_head.weight" ? "lm_head" : strip(name, kWeight));
  return ignored;
}

}  // namespace

void attach_scales(std::map<std::string, Tensor>& tensors, const std::string& source) {
  std::map<std::string, QuantScales> scales;  // by weight name
  std::vector<std::string> scale_names;
  for (const auto& [name, tensor] : tensors) {
    const bool weight_scale = ends_with(name, kWeightScale), input_scale = ends_with(name, kInputScale);
    if (!weight_scale && !input_scale) continue;
    const std::string module = strip(name, weight_scale ? kWeightScale : kInputScale);
    const std::string weight_name = module + std::string(kWeight);
    const auto weight = tensors.find(weight_name);
    MOE_CHECK(weight != tensors.end(), FormatError, source, ": tensor '", name, "' has no weight '", weight_name, "'");
    const Tensor& w = weight->second;
    MOE_CHECK(is_scaled_8bit(w.dtype()) && w.n_dims() == 2, FormatError, source, ": tensor '", weight_name, "' is ",
              dtype_info(w.dtype()).name, " ", shape_string(w.shape()), ", but '", name,
              "' scales it (expected a 2-D I8 or F8_E4M3 weight)");
    const std::vector<float> values = tensor.to_f32();
    const auto n = static_cast<int64_t>(values.size());
    for (float v : values)  // a weight scale is 0 for an all-zero row; an input scale divides
      MOE_CHECK(std::isfinite(v) && (v > 0.0f || (weight_scale && v == 0.0f)), FormatError, source, ": tensor '", name,
                "' holds ", v, " (expected a finite scale > 0)");
    if (weight_scale) {
      MOE_CHECK(n == 1 || n == w.rows(), FormatError, source, ": tensor '", name, "' has shape ",
                shape_string(tensor.shape()), " for a weight of ", w.rows(), " rows (expected ", w.rows(),
                " or 1 values)");
      scales[weight_name].weight = values;
    } else {
      MOE_CHECK(n == 1, FormatError, source, ": tensor '", name, "' has shape ", shape_string(tensor.shape()),
                " (expected one value per tensor)");
      scales[weight_name].input = values[0];
    }
    scale_names.push_back(name);
  }
  for (const std::string& name : scale_names) tensors.erase(name);
  for (auto& [name, tensor] : tensors) {
    if (!is_scaled_8bit(tensor.dtype())) continue;
    const auto found = scales.find(name);
    MOE_CHECK(found != scales.end() && !found->second.weight.empty(), FormatError, source, ": tensor '", name, "' is ",
              dtype_info(tensor.dtype()).name, " but has no '",
              ends_with(name, kWeight) ? strip(name, kWeight) + std::string(kWeightScale) : name + "_scale", "'");
    tensor = tensor.with_scales(found->second);
  }
}

void check_quantization_config(const nlohmann::json& config, const std::string& source) {
  const auto found = config.find("quantization_config");
  if (found == config.end() || found->is_null()) return;
  const nlohmann::json& q = *found;
  const std::string method = q.is_object() && q.contains("quant_method") && q["quant_method"].is_string()
                                 ? q["quant_method"].get<std::string>()
                                 : "";
  MOE_CHECK(method == "fp8" || method == "compressed-tensors", FormatError, source,
            ": quantization_config.quant_method '", method,
            "' is not supported (expected fp8 or compressed-tensors; GGUF holds the llama.cpp types)");
  MOE_CHECK(!q.contains("weight_block_size") || q["weight_block_size"].is_null(), FormatError, source,
            ": quantization_config.weight_block_size: block-wise fp8 scales are not supported (per tensor or per "
            "channel only)");
}

NamedTensors with_scale_tensors(const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, tensor] : tensors) {
    out.emplace_back(name, tensor);
    if (!tensor.has_scales()) continue;
    MOE_CHECK(ends_with(name, kWeight), FormatError, "tensor '", name, "' has scales but no .weight name");
    const std::string module = strip(name, kWeight);
    const QuantScales scales = tensor.scales();
    // compressed-tensors (per channel) stores [out, 1] and [1]; the fp8 method (per tensor) scalars.
    const bool channel = per_row(tensor);
    std::vector<int64_t> weight_shape = channel ? std::vector<int64_t>{tensor.rows(), 1} : std::vector<int64_t>{};
    out.emplace_back(module + std::string(kWeightScale), Tensor::from_f32(std::move(weight_shape), scales.weight));
    if (scales.input)
      out.emplace_back(module + std::string(kInputScale),
                       Tensor::from_f32(channel ? std::vector<int64_t>{1} : std::vector<int64_t>{}, {*scales.input}));
  }
  return out;
}

nlohmann::json quantization_config(const NamedTensors& tensors) {
  const Tensor* first = first_scaled(tensors);
  if (first == nullptr) return nullptr;
  const bool fp8 = first->dtype() == DType::kF8_E4M3, static_input = first->input_scale().has_value();
  if (fp8 && !per_row(*first))
    return {{"quant_method", "fp8"},
            {"activation_scheme", static_input ? "static" : "dynamic"},
            {"ignored_layers", ignored_modules(tensors)}};
  const char* type = fp8 ? "float" : "int";
  nlohmann::json input = nullptr;
  if (static_input)
    input = {{"num_bits", 8}, {"type", type}, {"symmetric", true}, {"strategy", "tensor"}, {"dynamic", false}};
  return {{"quant_method", "compressed-tensors"},
          {"format", fp8 ? "float-quantized" : "int-quantized"},
          {"quantization_status", "compressed"},
          {"config_groups",
           {{"group_0",
             {{"targets", {"Linear"}},
              {"weights",
               {{"num_bits", 8}, {"type", type}, {"symmetric", true}, {"strategy", "channel"}, {"dynamic", false}}},
              {"input_activations", input}}}}},
          {"ignore", ignored_modules(tensors)}};
}

std::string describe_quantization(const Tensor& weight) {
  if (!weight.has_scales()) return "";
  std::string text = weight.dtype() == DType::kI8 ? "int8" : "fp8 e4m3";
  text += weight.input_scale() ? " with a static input scale (activations quantized too: W8A8)" : " weight-only";
  text += per_row(weight) ? ", per-channel weight scales" : ", per-tensor weight scale";
  return text;
}

}  // namespace moe::model
