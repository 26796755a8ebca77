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

// config.json of qwen2moe-tiny with `key` set to `value` (parsed from JSON text).
ModelConfig read_with(const std::string& key, const std::string& value) {
  nlohmann::json json = config_to_hf(preset_config("qwen2moe-tiny"));
  json[key] = nlohmann::json::parse(value);
  return config_from_hf(json, "config.json");
}

TEST(ModelConfig, HfKeysAreTypeCheckedNotConverted) {
  // Each was once truncated or converted (issue 17): 3.5 layers ran 3, true ran as 1, 1e308 as inf.
  expect_error_with([] { read_with("num_hidden_layers", "3.5"); },
                    "config.json: key 'num_hidden_layers' must be an integer, got 3.5");
  expect_error_with([] { read_with("num_experts_per_tok", "3.5"); }, "key 'num_experts_per_tok' must be an integer");
  expect_error_with([] { read_with("hidden_size", "\"256\""); }, "key 'hidden_size' must be an integer, got \"256\"");
  expect_error_with([] { read_with("rms_norm_eps", "true"); }, "key 'rms_norm_eps' must be a number, got true");
  expect_error_with([] { read_with("rms_norm_eps", "1e308"); },
                    "key 'rms_norm_eps' must be a finite number that fits float32, got 1e+308");
  expect_error_with([] { read_with("norm_topk_prob", "1"); }, "key 'norm_topk_prob' must be true or false, got 1");
  expect_error_with([] { read_with("mlp_only_layers", "[1.5]"); },
                    "key 'mlp_only_layers' must be an array of integers");
  expect_error_with([] { read_with("rope_theta", "null"); }, "key 'rope_theta' is null; remove it or give a value");
  // Quoted values are escaped and shortened: one line of ASCII whatever the file holds.
  expect_error_with([] { read_with("model_type", "\"qwen\\u0000\\n\\u00e9\""); },
                    "unknown architecture model_type 'qwen\\x00\\x0a\u00e9'");
  expect_error_with([] { read_with("hidden_size", "\"\\n\\u00e9" + std::string(100, 'x') + "\""); },
                    "got \"\\n\\u00e9xxxx");
}

TEST(ModelConfig, HfKeysAreRangeChecked) {
  expect_error_with([] { read_with("max_position_embeddings", "-1"); },
                    "config.json: max_position_embeddings: must be in [1, ");
  expect_error_with([] { read_with("max_position_embeddings", "0"); }, "max_position_embeddings: must be in [1, ");
  EXPECT_EQ(read_with("max_position_embeddings", "2147483648").max_positions, int64_t{1} << 31);
  expect_error_with([] { read_with("shared_expert_intermediate_size", "-1"); },
                    "shared_expert_intermediate_size: must be in [0, 2147483647], got -1");
  expect_error_with([] { read_with("rms_norm_eps", "3.5"); }, "rms_norm_eps: must be in (0, 1), got 3.5");
  expect_error_with([] { read_with("vocab_size", "2147483648"); }, "vocab_size: must be in [1, 2147483647]");
  expect_error_with([] { read_with("num_experts", "2147483648"); }, "num_experts: must be in [1, 65536]");
  // Refused before a spec per layer is allocated (this was std::bad_alloc).
  expect_error_with([] { read_with("num_hidden_layers", "2147483648"); },
                    "config.json: num_hidden_layers: must be in [1, 65536], got 2147483648");
  expect_error_with([] { read_with("bos_token_id", "\"x\""); }, "key 'bos_token_id' must be an integer, got \"x\"");
  expect_error_with([] { read_with("bos_token_id", "512"); },
                    "bos_token_id: 512 is outside the vocabulary of vocab_size = 512");
  expect_error_with([] { read_with("eos_token_id", "[1, -1]"); }, "eos_token_id: -1 is outside the vocabulary");
  EXPECT_NO_THROW(read_with("eos_token_id", "[1, 2]"));
  expect_error_with([] { read_with("eos_token_id", "[]"); }, "eos_token_id: an empty list");
  EXPECT_NO_THROW(read_with("bos_token_id", "null"));
}

TEST(ModelConfig, WhatChangesTheComputationAndIsNotImplementedIsRefusedByName) {
  // hidden_act "x" once ran as SiLU.
  expect_error_with([] { read_with("hidden_act", "\"gelu\""); },
                    "config.json: hidden_act \"gelu\" is not supported (silu only)");
  EXPECT_NO_THROW(read_with("hidden_act", "\"swish\""));  // HF's other name of SiLU
  expect_error_with([] { read_with("rope_scaling", R"({"type": "yarn", "factor": 4})"); },
                    "rope_scaling is not supported");
  EXPECT_NO_THROW(read_with("rope_scaling", "null"));
  expect_error_with([] { read_with("use_sliding_window", "true"); }, "use_sliding_window: sliding-window attention");
  nlohmann::json mixtral = config_to_hf(preset_config("mixtral-tiny"));
  mixtral["sliding_window"] = 1024;
  expect_error_with([&] { config_from_hf(mixtral, "config.json"); },
                    "config.json: sliding_window 1024 is not supported");
  mixtral["sliding_window"] = mixtral["max_position_embeddings"];
  EXPECT_NO_THROW(config_from_hf(mixtral, "config.json"));
}

TEST(ModelConfig, WhatTheEngineDoesNotRunYetNamesTheLayer) {
  Model model = make_preset_model("mixtral-tiny", 1, DType::kF32);
  ThreadPool pool(1);
  model.config.layers[3].attention.head_dim_v = 16;
  expect_error_with([&] { Transformer transformer(model, pool); },
                    "layer 3: v_head_dim 16 differs from head_dim 32, which GQA attention does not support");
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
