// Calibration of static activation scales (fp8 W8A8, as TensorRT-LLM / ModelOpt calibrate): runs
// the model over calibration tokens with an InputObserver on each linear layer and records the
// largest |input| each one saw.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"

namespace moe::model {

// Largest |activation| entering each group of linear layers of one layer. Layers sharing an input
// share a range (q/k/v; gate/up); the routed experts share one range per projection, the max over
// all of them (ModelOpt's and TensorRT-LLM's choice for grouped experts: one activation scale per
// GEMM, and experts the calibration text never reached still get one).
struct LayerInputRanges {
  float attention = 0.0f;         // q_proj, k_proj, v_proj
  float attention_output = 0.0f;  // o_proj
  float experts = 0.0f;           // every routed expert's gate and up
  float experts_down = 0.0f;      // every routed expert's down
  float shared = 0.0f;            // the shared expert's gate and up
  float shared_down = 0.0f;       // the shared expert's down
};

// Runs `tokens` through `model` (one process, f32 KV cache) in windows of at most `window`
// tokens, each from an empty cache, and returns the ranges per layer. The model's weights are
// untouched (observers go on a copy of the views).
std::vector<LayerInputRanges> calibrate_input_ranges(const Model& model, const std::vector<int32_t>& tokens,
                                                     int64_t window, ThreadPool& pool);

}  // namespace moe::model
