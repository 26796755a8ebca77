// Requantization of a whole model for `moe quantize`: every 2-D weight matrix is converted row by
// row (dequantize_row -> quantize_row) to a target dtype, while the router, the shared-expert gate,
// norms and biases are kept in f32 (as llama.cpp and TensorRT-LLM keep them). The result is a Model
// whose tensors own their new bytes, ready for save_model(..., FileFormat::kGguf).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"

namespace moe::model {

// The dtype of each tensor role in the output.
struct QuantizeTargets {
  DType matrices = DType::kQ8_0;   // attention q/k/v/o, routed experts, shared expert
  std::optional<DType> embedding;  // token_embd; unset: `matrices`
  std::optional<DType> output;     // output.weight; unset: default_output_dtype(matrices)
};

// llama-quantize's default for output.weight: q6_K when the matrices go to q4_0 or q4_K (the
// output projection is the most sensitive matrix), else the matrices' dtype.
DType default_output_dtype(DType matrices);

// The dtype a matrix whose rows have `cols` elements gets when `wanted` is asked for: `wanted` if
// the row is a whole number of its blocks, else q8_0 if cols % 32 == 0, else f16 (llama.cpp falls
// back the same way for k-quants on odd row lengths).
DType dtype_for_row_length(DType wanted, int64_t cols);

// What happened to one output tensor (experts: one entry per layer and role, as GGUF merges them).
struct QuantizedTensor {
  std::string name;            // GGUF name: "blk.0.ffn_down_exps.weight"
  std::vector<int64_t> shape;  // merged experts: {n_experts, rows, cols}
  DType from = DType::kF32;    // dtype in the input
  DType wanted = DType::kF32;  // what the targets asked for
  DType to = DType::kF32;      // what was written (differs from `wanted` on a row-length fallback)
  bool fell_back() const { return to != wanted; }
};

struct QuantizeResult {
  Model model;                           // tensors own their bytes; config, vocab, name as the input
  std::vector<QuantizedTensor> tensors;  // in the order they were converted
};

// Converts `model`'s weights to `targets`. A tensor already in its output dtype is copied as is
// (llama-quantize does the same), so a second pass never drifts. Rows are converted in parallel
// on `pool` in fixed chunks (the bytes do not depend on the thread count). All converted tensors
// are held in memory at once (about the size of the output file); the input stays memory-mapped.
// `progress`, if set, is called after each tensor with its 0-based index and the tensor count.
QuantizeResult quantize_model(
    const Model& model, const QuantizeTargets& targets, ThreadPool& pool,
    const std::function<void(const QuantizedTensor&, int64_t index, int64_t count)>& progress = {});

}  // namespace moe::model
