// The layer-by-layer model description: every architecture's table reads back what it writes (HF
// config.json and GGUF metadata), the engine's limits on the description are one-line errors
// naming the layer, and a layer's attention scale is the one the forward pass uses.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "model/arch/arch_table.h"
#include "model/presets.h"
#include "model/transformer.h"

namespace moe::model {
namespace {

// Throws and its message contains `text`.
template <typename Fn>
void expect_error_with(Fn fn, const std::string& text) {
  try {
    fn();
    FAIL() << "no error; expected one with '" << text << "'";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(text), std::string::npos) << error.what();
  }
}

class EveryPreset : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPreset, HfConfigReadsBackTheSameDescription) {
  const ModelConfig config = preset_config(GetParam());
  EXPECT_EQ(config_from_hf(config_to_hf(config), "config.json"), config);
}

TEST_P(EveryPreset, GgufMetadataReadsBackTheSameDescription) {
  ModelConfig config = preset_config(GetParam());
  io::GgufMetadata meta;
  config_to_gguf(config, meta);
  // A llama-arch GGUF holds q/k rows permuted for interleaved RoPE: the only difference.
  if (arch_table(config.arch).gguf_interleaved_rope) config.rope_style = kernels::RopeStyle::kInterleaved;
  EXPECT_EQ(config_from_gguf(meta, "m.gguf"), config);
}

INSTANTIATE_TEST_SUITE_P(Presets, EveryPreset,
                         ::testing::Values("mixtral-tiny", "qwen2moe-tiny", "qwen3moe-tiny", "olmoe-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(ModelConfig, ArchitectureTraitsComeFromTheirTables) {
  EXPECT_TRUE(preset_config("mixtral-tiny").moe().router.renormalize);
  EXPECT_TRUE(preset_config("qwen2moe-tiny").attention().qkv_bias);
  EXPECT_EQ(preset_config("qwen2moe-tiny").moe().shared_expert_ffn, 512);
  EXPECT_EQ(preset_config("qwen3moe-tiny").attention().qk_norm, QkNorm::kPerHead);
  EXPECT_EQ(preset_config("olmoe-tiny").attention().qk_norm, QkNorm::kWhole);
  EXPECT_FALSE(preset_config("olmoe-tiny").moe().router.renormalize);
  const ModelConfig mixtral = preset_config("mixtral-tiny");
  EXPECT_FLOAT_EQ(mixtral.attention().scale, 1.0f / std::sqrt(32.0f));
  EXPECT_EQ(mixtral.attention().head_dim_v, mixtral.attention().head_dim);
}

TEST(ModelConfig, LayersThatDifferInShapeAreConfigErrors) {
  ModelConfig config = preset_config("mixtral-tiny");
  config.layers[2].attention.n_kv_heads = 8;
  expect_error_with([&] { config.validate(); }, "layer 2: attention heads or head dims differ from layer 0's");
  config = preset_config("mixtral-tiny");
  config.layers[1].ffn.router.n_experts = 4;
  expect_error_with([&] { config.validate(); }, "layer 1: experts or expert sizes differ");
  config = preset_config("mixtral-tiny");
  for (LayerSpec& layer : config.layers) layer.ffn.kind = FfnKind::kDense;
  expect_error_with([&] { config.validate(); }, "the model has no MoE layer");
  config = preset_config("mixtral-tiny");
  config.layers[0].ffn.kind = FfnKind::kDense;
  expect_error_with([&] { config.validate(); }, "intermediate_size: layer 0 is dense");
}

TEST(ModelConfig, WhatTheEngineDoesNotRunYetNamesTheLayer) {
  Model model = make_preset_model("mixtral-tiny", 1, DType::kF32);
  ThreadPool pool(1);
  model.config.layers[3].ffn.kind = FfnKind::kDense;
  model.config.layers[3].ffn.dense_ffn = 64;
  expect_error_with([&] { Transformer transformer(model, pool); }, "layer 3: dense FFN layers are not supported");
}

TEST(ModelConfig, TheLayersScaleIsTheOneAttentionUses) {
  // Halving every q row's weights halves q.k; doubling the scale restores the logits exactly
  // (both are powers of two, so every product is exact).
  const Model base = make_preset_model("mixtral-tiny", 1, DType::kF32);
  Model scaled = base;
  for (int64_t layer = 0; layer < scaled.config.n_layers(); ++layer) {
    scaled.config.layers[layer].attention.scale *= 2.0f;
    const Tensor& wq = base.weights.layers[layer].wq;
    std::vector<float> halved = wq.to_f32();
    for (float& w : halved) w *= 0.5f;
    scaled.weights.layers[layer].wq = Tensor::from_f32(wq.shape(), std::move(halved));
  }
  ThreadPool pool(1);
  auto logits = [&](const Model& model) {
    Transformer transformer(model, pool);
    KvCache cache = transformer.make_cache(4);
    std::vector<float> out;
    transformer.forward(std::vector<int32_t>{1, 7, 42, 99}, cache, out, true);
    return out;
  };
  const std::vector<float> expected = logits(base), got = logits(scaled);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << i;
  // And the scale does act: the same halved q with the old scale gives other logits.
  Model unscaled = scaled;
  for (LayerSpec& layer : unscaled.config.layers) layer.attention.scale = base.config.attention().scale;
  EXPECT_NE(logits(unscaled), expected);
}

}  // namespace
}  // namespace moe::model
