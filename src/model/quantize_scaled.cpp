// int8 / fp8 quantization of a whole model: HF row order first, then matrix by matrix.
#include "model/quantize_scaled.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/quantize.h"

namespace moe::model {

namespace {

constexpr int64_t kRowsPerTask = 16;  // fixed, so the work split never depends on the thread count

// Row r of a weight as f32 values (its scale applied).
void row_values(const Tensor& w, int64_t r, float* out) {
  dequantize_row(w.dtype(), w.row(r), out, w.cols());
  const float scale = w.row_scale(r);
  if (scale != 1.0f)
    for (int64_t c = 0; c < w.cols(); ++c) out[c] *= scale;
}

float row_amax(const float* values, int64_t n) {
  float amax = 0.0f;
  for (int64_t c = 0; c < n; ++c) amax = std::max(amax, std::fabs(values[c]));
  return amax;
}

// Runs f(row, values) over all rows in fixed chunks on the pool.
template <class F>
void for_rows(const Tensor& w, ThreadPool& pool, F&& f) {
  const int64_t n_tasks = (w.rows() + kRowsPerTask - 1) / kRowsPerTask;
  pool.parallel_for(n_tasks, [&](int64_t task) {
    std::vector<float> values(w.cols());
    for (int64_t r = task * kRowsPerTask; r < std::min(w.rows(), (task + 1) * kRowsPerTask); ++r) {
      row_values(w, r, values.data());
      f(r, values.data());
    }
  });
}

// The float tensors kept unquantized: their dtype if a float one, else dequantized to f32.
Tensor as_float(const Tensor& t, bool force_f32) {
  const bool is_float = t.dtype() == DType::kF32 || t.dtype() == DType::kF16 || t.dtype() == DType::kBF16;
  if (t.empty() || (is_float && !t.has_scales() && (!force_f32 || t.dtype() == DType::kF32))) return t;
  return Tensor::from_f32(t.shape(), t.to_f32());
}

// The model with q/k rows in HF's rotate-half order (a llama-arch GGUF stores them interleaved).
Model in_hf_order(const Model& model) {
  if (model.config.rope_style != kernels::RopeStyle::kInterleaved) return model;
  Model out = model;
  out.config.rope_style = kernels::RopeStyle::kNeox;
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, tensor] : weights_to_hf(model.config, model.weights)) tensors.emplace(name, tensor);
  out.weights = weights_from_hf(out.config, tensors, model.path);
  return out;
}

std::optional<float> input_scale(const ScaledQuantizeOptions& options, int64_t layer, float LayerInputRanges::*range,
                                 const char* what) {
  if (!options.input_ranges) return std::nullopt;
  const float amax = (*options.input_ranges).at(layer).*range;
  MOE_CHECK(amax > 0.0f && std::isfinite(amax), ConfigError, "--calib: layer ", layer, " ", what,
            " saw no input (amax ", amax, "); use a longer calibration text");
  return absmax_scale(options.dtype, amax);
}

}  // namespace

Tensor quantize_matrix(const Tensor& weight, DType dtype, bool per_channel, std::optional<float> input,
                       ThreadPool& pool) {
  MOE_ASSERT(is_scaled_8bit(dtype) && weight.n_dims() == 2);
  const int64_t rows = weight.rows(), cols = weight.cols();
  QuantScales scales{std::vector<float>(per_channel ? rows : 1), input};
  if (!per_channel) {  // one pass for the tensor's amax (max is order-independent), one to encode
    std::vector<float> amax(rows);
    for_rows(weight, pool, [&](int64_t r, const float* values) { amax[r] = row_amax(values, cols); });
    scales.weight[0] = absmax_scale(dtype, *std::max_element(amax.begin(), amax.end()));
  }
  auto bytes = std::make_shared<std::vector<std::byte>>(rows * cols);
  for_rows(weight, pool, [&](int64_t r, const float* values) {
    if (per_channel) scales.weight[r] = absmax_scale(dtype, row_amax(values, cols));
    quantize_scaled_row(dtype, values, scales.weight[per_channel ? r : 0], bytes->data() + r * cols, cols);
  });
  return Tensor(dtype, weight.shape(), bytes->data(), bytes).with_scales(std::move(scales));
}

Model quantize_scaled(const Model& model, const ScaledQuantizeOptions& options, ThreadPool& pool) {
  MOE_ASSERT(is_scaled_8bit(options.dtype));
  Model out = in_hf_order(model);
  out.format = FileFormat::kHf;
  ModelWeights& w = out.weights;
  w.token_embd = as_float(w.token_embd, false);
  w.output_norm = as_float(w.output_norm, true);
  w.output = model.config.tie_embeddings ? w.token_embd : as_float(w.output, false);
  auto matrix = [&](Tensor& t, std::optional<float> input) {
    if (!t.empty()) t = quantize_matrix(t, options.dtype, options.per_channel, input, pool);
  };
  for (int64_t layer = 0; layer < model.config.n_layers(); ++layer) {
    LayerWeights& l = w.layers[layer];
    for (Tensor* t :
         {&l.attn_norm, &l.ffn_norm, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.router, &l.shared_expert_gate})
      *t = as_float(*t, true);
    const std::optional<float> attention = input_scale(options, layer, &LayerInputRanges::attention, "q/k/v_proj");
    for (Tensor* t : {&l.wq, &l.wk, &l.wv}) matrix(*t, attention);
    matrix(l.wo, input_scale(options, layer, &LayerInputRanges::attention_output, "o_proj"));
    if (!l.experts.empty()) {
      const std::optional<float> in = input_scale(options, layer, &LayerInputRanges::experts, "experts' gate/up");
      const std::optional<float> down = input_scale(options, layer, &LayerInputRanges::experts_down, "experts' down");
      for (ExpertWeights& e : l.experts) {
        matrix(e.gate, in);
        matrix(e.up, in);
        matrix(e.down, down);
      }
    }
    if (!l.shared_expert.gate.empty()) {
      const std::optional<float> in = input_scale(options, layer, &LayerInputRanges::shared, "shared expert gate/up");
      matrix(l.shared_expert.gate, in);
      matrix(l.shared_expert.up, in);
      matrix(l.shared_expert.down, input_scale(options, layer, &LayerInputRanges::shared_down, "shared expert down"));
    }
  }
  return out;
}

}  // namespace moe::model
