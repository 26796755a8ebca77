// The training forward against the inference Transformer on every tiny preset: the same weights
// give the same logits (both f32; they differ only in the order of float sums), including a
// Mixtral loaded with llama.cpp's interleaved q/k rows, which training turns back to rotate-half.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "model/presets.h"
#include "model/transformer.h"
#include "train/train_model.h"

namespace moe::train {
namespace {

const std::vector<int32_t> kPrompt = {1, 20, 300, 4, 55, 6, 77, 8};

std::vector<float> inference_logits(const model::Model& m) {
  ThreadPool pool(2);
  model::Transformer transformer(m, pool);
  model::KvCache cache = transformer.make_cache(static_cast<int64_t>(kPrompt.size()));
  std::vector<float> logits;
  transformer.forward(kPrompt, cache, logits, true);
  return logits;
}

// Training options that route as the model does, dropless and without losses.
TrainModelOptions matching_options(const model::ModelConfig& c) {
  TrainModelOptions o;
  o.router.num_experts = c.n_experts();
  o.router.topk = c.moe().router.top_k;
  o.router.pre_softmax = !c.moe().router.renormalize;
  return o;
}

std::vector<float> training_logits(const model::Model& m) {
  ThreadPool pool(2);
  TrainModel net(m.config, matching_options(m.config), &pool);
  net.load_weights(m);
  std::vector<float> logits;
  const std::vector<int32_t> targets(kPrompt.size(), -1);
  net.forward(kPrompt, targets, 1, static_cast<int64_t>(kPrompt.size()), &logits);
  return logits;
}

// DESIGN.md section 6's bound for f32 logits: max |diff| <= 1e-4 of the largest logit.
void expect_same_logits(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  double max_diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  std::printf("  %-16s max |logit diff| %.2e of the logit scale %.1f\n", what.c_str(), max_diff / scale, scale);
  EXPECT_LE(max_diff, 1e-4 * scale) << what;
}

TEST(TrainInferenceMatch, EveryTinyPresetGivesTheInferenceLogits) {
  for (const std::string name : {"mixtral-tiny", "qwen2moe-tiny", "qwen3moe-tiny", "olmoe-tiny"}) {
    const model::Model m = model::make_preset_model(name, 7, DType::kF32);
    expect_same_logits(training_logits(m), inference_logits(m), name);
  }
}

TEST(TrainInferenceMatch, InterleavedQkRowsOfALlamaArchModelAreUndone) {
  // The preset as llama.cpp's Mixtral GGUF stores it: q/k rows permuted for interleaved RoPE.
  const model::Model hf = model::make_preset_model("mixtral-tiny", 7, DType::kF32);
  model::Model gguf = hf;
  std::map<std::string, Tensor> tensors;
  for (auto& [name, tensor] : model::weights_to_gguf(hf.config, hf.weights)) tensors.emplace(name, tensor);
  gguf.config.rope_style = kernels::RopeStyle::kInterleaved;
  gguf.weights = model::weights_from_gguf(gguf.config, tensors, "gguf layout");
  const std::vector<float> reference = inference_logits(hf);
  expect_same_logits(inference_logits(gguf), reference, "gguf inference");
  expect_same_logits(training_logits(gguf), reference, "gguf training");
}

}  // namespace
}  // namespace moe::train
