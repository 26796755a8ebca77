// DeepSeek in GGUF (llama.cpp's deepseek2, model/arch/deepseek.cpp and model/weights.cpp): the
// config written reads back as it was, both tensor layouts load (attn_kv_b as we write it, and
// attn_k_b / attn_v_b with head_count_kv 1 as llama.cpp's converter now writes it, made here from
// the converter's definition) and compute the same logits bit for bit, and what GGUF cannot hold
// (HF's YaRN mscale apart from mscale_all_dim) is refused by name.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "core/error.h"
#include "io/gguf_metadata.h"
#include "model/presets.h"
#include "model/weights.h"
#include "model_test_util.h"

namespace moe::model {
namespace {

ModelConfig gguf_round_trip(const ModelConfig& config, io::GgufMetadata* out = nullptr) {
  io::GgufMetadata meta;
  config_to_gguf(config, meta);
  if (out != nullptr) *out = meta;
  return config_from_gguf(meta, "test.gguf");
}

TEST(DeepseekGguf, ConfigReadsBack) {
  for (const char* preset : {"deepseek-tiny", "deepseek-v2-lite-tiny"}) {
    const ModelConfig config = preset_config(preset);
    io::GgufMetadata meta;
    EXPECT_EQ(gguf_round_trip(config, &meta), config) << preset;
    EXPECT_EQ(meta.get_string("general.architecture"), "deepseek2");
    EXPECT_EQ(meta.get_int("deepseek2.leading_dense_block_count"), 1);
    EXPECT_EQ(meta.get_int("deepseek2.rope.dimension_count"), 16);
    EXPECT_EQ(meta.get_int("deepseek2.attention.kv_lora_rank"), 64);
  }
  // V3: sigmoid gating, exp_probs_b, 4 groups of which 2, scale 2.5, YaRN log multiplier 0.1 * 1.
  io::GgufMetadata meta;
  gguf_round_trip(preset_config("deepseek-tiny"), &meta);
  EXPECT_EQ(meta.get_int("deepseek2.expert_gating_func"), 2);
  EXPECT_EQ(meta.get_int("deepseek2.expert_group_count"), 4);
  EXPECT_EQ(meta.get_int("deepseek2.expert_group_used_count"), 2);
  EXPECT_FLOAT_EQ(*meta.get_float("deepseek2.expert_weights_scale"), 2.5);
  EXPECT_FLOAT_EQ(*meta.get_float("deepseek2.rope.scaling.yarn_log_multiplier"), 0.1);
  EXPECT_EQ(meta.get_int("deepseek2.attention.q_lora_rank"), 128);
  // V2-Lite: softmax, no q_lora_rank key (plain attn_q).
  gguf_round_trip(preset_config("deepseek-v2-lite-tiny"), &meta);
  EXPECT_EQ(meta.get_int("deepseek2.expert_gating_func"), 1);
  EXPECT_FALSE(meta.has("deepseek2.attention.q_lora_rank"));
}

TEST(DeepseekGguf, UnrepresentableAndBadValuesAreRefused) {
  // deepseek-v2-tiny's YaRN scales cos and sin (mscale 0.707, mscale_all_dim 1): GGUF holds one.
  try {
    io::GgufMetadata meta;
    config_to_gguf(preset_config("deepseek-v2-tiny"), meta);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("mscale_all_dim"), std::string::npos) << error.what();
  }
  io::GgufMetadata meta;
  config_to_gguf(preset_config("deepseek-tiny"), meta);
  meta.set_int("deepseek2.expert_gating_func", 3);
  EXPECT_THROW(config_from_gguf(meta, "x.gguf"), FormatError);
  meta.set_int("deepseek2.expert_gating_func", 2);
  meta.set_int("deepseek2.leading_dense_block_count", 4);
  EXPECT_THROW(config_from_gguf(meta, "x.gguf"), FormatError);
}

// convert_hf_to_gguf.py's DeepseekV2Model: kv_b viewed as [H, nope + v, R], split into k_b
// [H, nope, R] (stored transposed, [H, R, nope]) and v_b [H, v, R]; head_count_kv 1, key_length
// and value_length the latent's, the per-head sizes in the _mla keys.
void split_kv_b(const ModelConfig& c, io::GgufMetadata& meta, std::map<std::string, Tensor>& tensors) {
  const AttentionSpec& a = c.attention();
  const int64_t H = a.n_heads, R = a.kv_lora_rank, nope = a.nope_dim(), v = a.head_dim_v;
  for (int64_t layer = 0; layer < c.n_layers(); ++layer) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    const std::vector<float> kv_b = tensors.at(blk + "attn_kv_b.weight").to_f32();
    std::vector<float> k_b(H * R * nope), v_b(H * v * R);
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t i = 0; i < nope; ++i)
        for (int64_t j = 0; j < R; ++j) k_b[(h * R + j) * nope + i] = kv_b[(h * (nope + v) + i) * R + j];
      std::memcpy(&v_b[h * v * R], &kv_b[(h * (nope + v) + nope) * R], v * R * sizeof(float));
    }
    tensors.erase(blk + "attn_kv_b.weight");
    tensors[blk + "attn_k_b.weight"] = Tensor::from_f32({H, R, nope}, k_b);
    tensors[blk + "attn_v_b.weight"] = Tensor::from_f32({H, v, R}, v_b);
  }
  meta.set_int("deepseek2.attention.head_count_kv", 1);
  meta.set_int("deepseek2.attention.key_length", R + a.rope_dim);
  meta.set_int("deepseek2.attention.value_length", R);
  meta.set_int("deepseek2.attention.key_length_mla", a.head_dim);
  meta.set_int("deepseek2.attention.value_length_mla", v);
}

TEST(DeepseekGguf, BothTensorLayoutsGiveTheSameLogits) {
  for (const char* preset : {"deepseek-tiny", "deepseek-v2-lite-tiny"}) {
    const Model model = make_preset_model(preset, 5, DType::kF32);
    const std::vector<float> want = testing::prompt_logits(model);
    io::GgufMetadata meta;
    config_to_gguf(model.config, meta);
    std::map<std::string, Tensor> tensors;
    for (auto& [name, tensor] : weights_to_gguf(model.config, model.weights)) tensors[name] = tensor;
    EXPECT_EQ(tensors.count("blk.0.ffn_gate_exps.weight"), 0u) << preset << ": layer 0 is dense";
    EXPECT_EQ(tensors.count("blk.1.exp_probs_b.bias"), preset == std::string("deepseek-tiny") ? 1u : 0u);

    for (bool split : {false, true}) {
      if (split) split_kv_b(model.config, meta, tensors);
      Model loaded = model;
      loaded.config = config_from_gguf(meta, "test.gguf");
      EXPECT_EQ(loaded.config, model.config) << preset << (split ? " (split)" : "");
      loaded.weights = weights_from_gguf(loaded.config, tensors, "test.gguf");
      EXPECT_EQ(testing::prompt_logits(loaded), want) << preset << (split ? " (split)" : "");
    }
    // Shared experts in the file but expert_shared_count 0: refused naming the key.
    ModelConfig no_shared = model.config;
    for (LayerSpec& layer : no_shared.layers) layer.ffn.shared_expert_ffn = 0;
    try {
      weights_from_gguf(no_shared, tensors, "test.gguf");
      ADD_FAILURE() << preset << ": no error";
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find("deepseek2.expert_shared_count"), std::string::npos) << error.what();
    }
    // A quantized attn_k_b cannot be transposed back: refused naming the tensor.
    tensors["blk.1.attn_k_b.weight"] =
        Tensor::from_bytes(DType::kQ8_0, tensors["blk.1.attn_k_b.weight"].shape(), std::vector<std::byte>(8 * 64 * 34));
    EXPECT_THROW(weights_from_gguf(model.config, tensors, "test.gguf"), FormatError);
  }
}

}  // namespace
}  // namespace moe::model
