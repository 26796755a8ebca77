// Helpers shared by the model tests: a scratch path, the logits of a fixed prompt, a model's
// weights widened to f32.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace moe::model::testing {

inline std::string tmp_path(const std::string& name) {
  std::filesystem::create_directories(MOE_TEST_TMP);
  return std::string(MOE_TEST_TMP) + "/" + name;
}

// Logits of every position of a fixed 6-token prompt, in one process with 2 threads.
inline std::vector<float> prompt_logits(const Model& model) {
  ThreadPool pool(2);
  Transformer transformer(model, pool);
  KvCache cache = transformer.make_cache(6);
  std::vector<float> logits;
  transformer.forward(std::vector<int32_t>{1, 20, 300, 4, 55, 6}, cache, logits, true);
  return logits;
}

// The same model with every tensor widened to f32 (scales applied): a quantized model with f32
// activations must compute exactly this, up to the order of float sums inside the kernels.
inline Model widened_to_f32(const Model& model) {
  Model copy = model;
  auto widen = [](Tensor& t) {
    if (!t.empty()) t = Tensor::from_f32(t.shape(), t.to_f32());
  };
  ModelWeights& w = copy.weights;
  for (Tensor* t : {&w.token_embd, &w.output, &w.output_norm}) widen(*t);
  for (LayerWeights& l : w.layers) {
    for (Tensor* t :
         {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.ffn_norm, &l.router,
          &l.shared_expert.gate, &l.shared_expert.up, &l.shared_expert.down, &l.shared_expert_gate})
      widen(*t);
    for (ExpertWeights& e : l.experts)
      for (Tensor* t : {&e.gate, &e.up, &e.down}) widen(*t);
  }
  return copy;
}

// Largest |a - b| relative to the largest |b|.
inline double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double error = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    error = std::max(error, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return error / scale;
}

}  // namespace moe::model::testing
