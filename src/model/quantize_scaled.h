// Whole-model 8-bit quantization as TensorRT-LLM / ModelOpt do it, for HF checkpoint output:
//   int8: weight-only, symmetric, one scale per output channel (amax(row) / 127, round half to
//         even); activations stay f32.
//   fp8:  e4m3 weights with one scale per tensor (amax / 448; per channel on request), plus, when
//         calibration ranges are given, a static per-tensor input scale (amax / 448) with which
//         matmul quantizes the activations to e4m3 (W8A8); without them weight-only.
// Quantized: attention q/k/v/o, every expert's gate/up/down, the shared expert. Kept: the router
// and shared-expert gate (f32, as TensorRT-LLM runs them), norms and biases (f32), the embedding
// and lm_head (their float dtype, or f32 from a quantized input: TensorRT-LLM's weight-only and
// ModelOpt's fp8 exports leave lm_head unquantized by default).
#pragma once

#include <optional>
#include <vector>

#include "core/thread_pool.h"
#include "model/calibrate.h"
#include "model/model.h"

namespace moe::model {

struct ScaledQuantizeOptions {
  DType dtype = DType::kI8;  // kI8 or kF8_E4M3
  bool per_channel = true;   // one weight scale per output row, else one per tensor (fp8 only)
  // fp8: input ranges per layer from calibrate_input_ranges(), for static input scales.
  std::optional<std::vector<LayerInputRanges>> input_ranges;
};

// The quantized model, in HF tensor order (a llama-arch GGUF's q/k rows un-permuted, rotate-half
// RoPE), ready for save_model(..., FileFormat::kHf). Rows are converted in parallel in fixed
// chunks: the bytes do not depend on the thread count. ConfigError when an input range is 0 (the
// calibration text reached no token there).
Model quantize_scaled(const Model& model, const ScaledQuantizeOptions& options, ThreadPool& pool);

// One matrix: codes of `dtype` and their scales (per row or per tensor), with `input_scale`.
Tensor quantize_matrix(const Tensor& weight, DType dtype, bool per_channel, std::optional<float> input_scale,
                       ThreadPool& pool);

}  // namespace moe::model
