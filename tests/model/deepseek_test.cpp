// DeepSeek-V2 / V3 (model/arch/deepseek.cpp, model/mla.*, model/transformer_mla.cpp) beyond the
// PyTorch goldens of golden_test.cpp: their config.json reads back what it writes, published keys
// with unsupported values are refused by name, YaRN's frequencies and scales are DeepSeek's, and
// the latent KV cache computes what the decompressed one does (within f32 rounding), in batches
// and paged, while holding kv_lora_rank + qk_rope_head_dim values per token and layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "model/mla.h"
#include "model/presets.h"
#include "model/shard.h"
#include "model/transformer.h"

namespace moe::model {
namespace {

const char* const kPresets[] = {"deepseek-tiny", "deepseek-v2-tiny", "deepseek-v2-lite-tiny"};

template <typename Fn>
void expect_error_with(Fn fn, const std::string& text) {
  try {
    fn();
    FAIL() << "no error; expected one with '" << text << "'";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(text), std::string::npos) << error.what();
  }
}

TEST(DeepseekConfig, PresetsReadBackTheSameDescription) {
  for (const char* preset : kPresets) {
    const ModelConfig config = preset_config(preset);
    EXPECT_EQ(config_from_hf(config_to_hf(config), "config.json"), config) << preset;
  }
}

TEST(DeepseekConfig, PublishedKeysFillTheLayers) {
  const ModelConfig v3 = preset_config("deepseek-tiny");
  EXPECT_FALSE(v3.layers[0].ffn.is_moe());
  EXPECT_EQ(v3.layers[0].ffn.dense_ffn, 512);
  EXPECT_TRUE(v3.layers[1].ffn.is_moe());
  EXPECT_EQ(v3.attention().kind, AttentionKind::kMla);
  EXPECT_EQ(v3.moe().router.score_function, ScoreFunction::kSigmoid);
  EXPECT_TRUE(v3.moe().router_bias_tensor);
  EXPECT_EQ(v3.moe().shared_gate, SharedExpertGate::kNone);

  nlohmann::json json = config_to_hf(v3);
  json["first_k_dense_replace"] = 0;
  json["moe_layer_freq"] = 2;  // HF: layer % moe_layer_freq == 0 is MoE
  const ModelConfig every_other = config_from_hf(json, "config.json");
  EXPECT_TRUE(every_other.layers[0].ffn.is_moe());
  EXPECT_FALSE(every_other.layers[1].ffn.is_moe());
  EXPECT_TRUE(every_other.layers[2].ffn.is_moe());

  // V2: routed_scaling_factor only scales weights that are not normalised.
  json = config_to_hf(preset_config("deepseek-v2-tiny"));
  json["norm_topk_prob"] = true;
  json["routed_scaling_factor"] = 16.0;
  EXPECT_EQ(config_from_hf(json, "config.json").moe().router.routed_scaling_factor, 1.0f);
  json["norm_topk_prob"] = false;
  EXPECT_EQ(config_from_hf(json, "config.json").moe().router.routed_scaling_factor, 16.0f);
  json["q_lora_rank"] = nullptr;
  EXPECT_EQ(config_from_hf(json, "config.json").attention().q_lora_rank, 0);
}

// The config.json files deepseek-ai publishes (DeepSeek-V3 without its fp8 quantization_config,
// DeepSeek-V2-Lite), keys and values as published.
TEST(DeepseekConfig, PublishedConfigsRead) {
  const nlohmann::json v3 = nlohmann::json::parse(R"({
    "architectures": ["DeepseekV3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
    "aux_loss_alpha": 0.001, "bos_token_id": 0, "eos_token_id": 1, "ep_size": 1, "first_k_dense_replace": 3,
    "hidden_act": "silu", "hidden_size": 7168, "initializer_range": 0.02, "intermediate_size": 18432,
    "kv_lora_rank": 512, "max_position_embeddings": 163840, "model_type": "deepseek_v3",
    "moe_intermediate_size": 2048, "moe_layer_freq": 1, "n_group": 8, "n_routed_experts": 256,
    "n_shared_experts": 1, "norm_topk_prob": true, "num_attention_heads": 128, "num_experts_per_tok": 8,
    "num_hidden_layers": 61, "num_key_value_heads": 128, "num_nextn_predict_layers": 1, "pretraining_tp": 1,
    "q_lora_rank": 1536, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "rms_norm_eps": 1e-06,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                     "original_max_position_embeddings": 4096, "type": "yarn"},
    "rope_theta": 10000, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid", "seq_aux": true,
    "tie_word_embeddings": false, "topk_group": 4, "topk_method": "noaux_tc", "torch_dtype": "bfloat16",
    "transformers_version": "4.33.1", "use_cache": true, "v_head_dim": 128, "vocab_size": 129280})");
  const ModelConfig c = config_from_hf(v3, "config.json");
  EXPECT_EQ(c.n_layers(), 61);
  for (int64_t i = 0; i < 61; ++i) EXPECT_EQ(c.layers[i].ffn.is_moe(), i >= 3) << i;
  EXPECT_EQ(c.layers[0].ffn.dense_ffn, 18432);
  const AttentionSpec& a = c.attention();
  EXPECT_EQ(a.n_kv_heads, 128);
  EXPECT_EQ(a.head_dim, 192);
  EXPECT_EQ(a.head_dim_v, 128);
  EXPECT_EQ(a.q_lora_rank, 1536);
  EXPECT_EQ(a.kv_lora_rank + a.rope_dim, 576);  // the latent cache's values per token and layer
  const double m = 0.1 * std::log(40.0) + 1;
  EXPECT_FLOAT_EQ(a.scale, static_cast<float>(m * m / std::sqrt(192.0)));
  const RouterConfig& r = c.moe().router;
  EXPECT_EQ(r.n_experts, 256);
  EXPECT_EQ(r.top_k, 8);
  EXPECT_EQ(r.n_groups, 8);
  EXPECT_EQ(r.topk_groups, 4);
  EXPECT_TRUE(r.renormalize);
  EXPECT_EQ(r.routed_scaling_factor, 2.5f);
  EXPECT_EQ(c.moe().shared_expert_ffn, 2048);
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(c.rope_scaling->factor, 40.0);

  const nlohmann::json lite = nlohmann::json::parse(R"({
    "architectures": ["DeepseekV2ForCausalLM"], "attention_bias": false, "aux_loss_alpha": 0.001,
    "bos_token_id": 100000, "eos_token_id": 100001, "first_k_dense_replace": 1, "hidden_act": "silu",
    "hidden_size": 2048, "intermediate_size": 10944, "kv_lora_rank": 512, "max_position_embeddings": 163840,
    "model_type": "deepseek_v2", "moe_intermediate_size": 1408, "moe_layer_freq": 1, "n_group": 1,
    "n_routed_experts": 64, "n_shared_experts": 2, "norm_topk_prob": false, "num_attention_heads": 16,
    "num_experts_per_tok": 6, "num_hidden_layers": 27, "num_key_value_heads": 16, "pretraining_tp": 1,
    "q_lora_rank": null, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "rms_norm_eps": 1e-06,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707, "mscale_all_dim": 0.707,
                     "original_max_position_embeddings": 4096, "type": "yarn"},
    "rope_theta": 10000, "routed_scaling_factor": 1.0, "scoring_func": "softmax", "seq_aux": true,
    "tie_word_embeddings": false, "topk_group": 1, "topk_method": "greedy", "torch_dtype": "bfloat16",
    "use_cache": true, "v_head_dim": 128, "vocab_size": 102400})");
  const ModelConfig l = config_from_hf(lite, "config.json");
  EXPECT_EQ(l.attention().q_lora_rank, 0);
  EXPECT_EQ(l.moe().router.score_function, ScoreFunction::kSoftmax);
  EXPECT_FALSE(l.moe().router.renormalize);
  EXPECT_EQ(l.moe().router.n_groups, 1);
  EXPECT_EQ(l.moe().shared_expert_ffn, 2 * 1408);
  EXPECT_FALSE(l.moe().router_bias_tensor);
}

TEST(DeepseekConfig, UnsupportedValuesAreRefusedByName) {
  const nlohmann::json v3 = config_to_hf(preset_config("deepseek-tiny"));
  const nlohmann::json v2 = config_to_hf(preset_config("deepseek-v2-tiny"));
  auto with = [](nlohmann::json json, const char* key, nlohmann::json value) {
    json[key] = std::move(value);
    return json;
  };
  auto refused = [](const nlohmann::json& json, const std::string& text) {
    expect_error_with([&] { config_from_hf(json, "config.json"); }, text);
  };
  refused(with(v3, "topk_method", "greedy"), "topk_method \"greedy\" is not supported for deepseek_v3");
  refused(with(v3, "scoring_func", "softmax"), "scoring_func \"softmax\" is not supported for deepseek_v3");
  refused(with(v2, "topk_method", "noaux_tc"), "topk_method \"noaux_tc\" is not supported for deepseek_v2");
  refused(with(v2, "scoring_func", "sigmoid"), "scoring_func");
  refused(with(v3, "attention_bias", true), "attention_bias");
  refused(with(v3, "q_lora_rank", 0), "q_lora_rank");
  refused(with(v3, "qk_rope_head_dim", 15), "qk_rope_head_dim");
  refused(with(v3, "kv_lora_rank", "x"), "kv_lora_rank");
  refused(with(v3, "n_group", 3), "n_group");
  refused(with(v3, "routed_scaling_factor", -1), "routed_scaling_factor");
  refused(with(v3, "moe_layer_freq", 0), "moe_layer_freq");
  refused(with(v3, "rope_scaling", {{"type", "linear"}, {"factor", 2.0}}), "rope_scaling: type \"linear\"");
  refused(with(v3, "rope_scaling", {{"type", "yarn"}}), "rope_scaling: missing key 'factor'");
  refused(with(v3, "rope_scaling", 3), "rope_scaling must be an object");
  refused(with(v3, "n_routed_experts", nullptr), "n_routed_experts");
}

// Attention TP splits MLA's heads (q_b, kv_b and o by heads; q_a and kv_a whole on every rank).
TEST(DeepseekLayout, AttentionTpSplitsTheHeads) {
  const ModelConfig config = preset_config("deepseek-tiny");
  const Model model = make_preset_model("deepseek-tiny", 3, DType::kF32);
  ShardLayout layout;
  layout.attention_tp = 2;
  layout.attention_tp_rank = 1;
  const Shard shard = make_shard(config, layout);
  EXPECT_EQ(shard.heads.begin, 4);
  EXPECT_EQ(shard.heads.end, 8);
  const ModelWeights w = shard_weights(config, model.weights, shard);
  const LayerWeights& l = w.layers[1];
  EXPECT_EQ(l.wq.shape(), (std::vector<int64_t>{4 * 48, 128}));
  EXPECT_EQ(l.wkv_b.shape(), (std::vector<int64_t>{4 * (32 + 32), 64}));
  EXPECT_EQ(l.wkv_b.data(), model.weights.layers[1].wkv_b.row(4 * 64));
  EXPECT_EQ(l.wo.shape(), (std::vector<int64_t>{256, 4 * 32}));
  EXPECT_EQ(l.wkv_a.shape(), model.weights.layers[1].wkv_a.shape());
  layout.attention_tp = 16;
  layout.attention_tp_rank = 0;
  expect_error_with([&] { make_shard(config, layout); },
                    "tensor_parallel_size = 16 does not divide num_attention_heads");
}

// DeepseekV3YarnRotaryEmbedding for dim 16, base 1e4, factor 4, original context 1024, betas
// 32 / 1: correction dims floor(1.41) = 1 and ceil(4.42) = 5, so pairs 0 and 1 keep their
// frequency, pairs 5..7 take 1/4 of it and pairs 2..4 blend linearly (ramp (i - 1) / 4).
TEST(DeepseekYarn, FrequenciesAndScalesAreDeepseeks) {
  const YarnScaling yarn{.factor = 4, .original_max_positions = 1024, .mscale = 0.707, .mscale_all_dim = 1.0};
  const MlaRope rope = mla_rope(16, 1e4, yarn);
  ASSERT_EQ(rope.inv_freq.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    const double base = std::pow(1e4, -2.0 * i / 16), ramp = std::clamp((i - 1) / 4.0, 0.0, 1.0);
    EXPECT_NEAR(rope.inv_freq[i], base / 4 * ramp + base * (1 - ramp), 1e-15) << i;
  }
  const double m_all = 0.1 * std::log(4.0) + 1, m = 0.1 * 0.707 * std::log(4.0) + 1;
  EXPECT_NEAR(rope.mscale, m / m_all, 1e-12);
  EXPECT_FLOAT_EQ(mla_softmax_scale(48, yarn), static_cast<float>(m_all * m_all / std::sqrt(48.0)));
  EXPECT_FLOAT_EQ(mla_softmax_scale(48, std::nullopt), static_cast<float>(1 / std::sqrt(48.0)));
  EXPECT_EQ(mla_rope(16, 1e4, std::nullopt).mscale, 1.0);
}

std::vector<float> run_prompt_and_decode(const Model& model, MlaCache mode, int64_t* kv_bytes) {
  ThreadPool pool(2);
  Transformer transformer(model, pool);
  transformer.set_mla_cache(mode);
  *kv_bytes = transformer.kv_bytes_per_token();
  KvCache cache = transformer.make_cache(80);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 70; ++i) prompt.push_back(1 + (i * 37) % 500);  // crosses a 64-position block
  std::vector<float> logits, step;
  transformer.forward(prompt, cache, logits, true);
  for (int32_t token : {5, 77, 300}) {
    transformer.forward(std::span<const int32_t>(&token, 1), cache, step, false);
    logits.insert(logits.end(), step.begin(), step.end());
  }
  return logits;
}

// The latent cache (kv_b folded into the query and applied after attention) against every head's
// k and v in the cache: the same logits up to f32 rounding, in a tenth of the bytes.
TEST(DeepseekMla, LatentCacheEqualsDecompressed) {
  for (const char* preset : kPresets) {
    const Model model = make_preset_model(preset, 11, DType::kF32);
    int64_t latent_bytes = 0, full_bytes = 0;
    const std::vector<float> latent = run_prompt_and_decode(model, MlaCache::kLatent, &latent_bytes);
    const std::vector<float> full = run_prompt_and_decode(model, MlaCache::kDecompressed, &full_bytes);
    ASSERT_EQ(latent.size(), full.size());
    double scale = 0, error = 0;
    for (size_t i = 0; i < full.size(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(full[i])));
      error = std::max(error, std::fabs(static_cast<double>(latent[i]) - full[i]));
    }
    EXPECT_LT(error / scale, 2e-6) << preset;
    std::printf("%s: latent vs decompressed max |diff| / max |logit| = %.2e\n", preset, error / scale);
    // 4 layers x (kv_lora_rank 64 + qk_rope_head_dim 16) f32 values; decompressed: k and v
    // (padded) of 8 heads x 48.
    EXPECT_EQ(latent_bytes, 4 * (64 + 16) * 4) << preset;
    EXPECT_EQ(full_bytes, 4 * 2 * 8 * 48 * 4) << preset;
  }
}

// Prefill and token-by-token decode, and sequences batched together, give the same bits with the
// latent cache (paged blocks of their own per sequence).
TEST(DeepseekMla, BatchedAndStepwiseAreBitIdentical) {
  const Model model = make_preset_model("deepseek-tiny", 3, DType::kF32);
  ThreadPool pool(2);
  Transformer transformer(model, pool);
  const std::vector<int32_t> a = {1, 5, 9, 200, 3, 77, 400, 12}, b = {1, 77, 400};
  KvCache batched_a = transformer.make_cache(8), batched_b = transformer.make_cache(8);
  const std::vector<SequenceSlice> batch = {{a, &batched_a, true}, {b, &batched_b, true}};
  std::vector<float> all, one;
  transformer.forward(batch, all);
  const int64_t vocab = model.config.vocab_size;
  KvCache stepwise = transformer.make_cache(8);
  for (size_t t = 0; t < a.size(); ++t) {
    transformer.forward(std::span<const int32_t>(&a[t], 1), stepwise, one, false);
    ASSERT_TRUE(std::equal(one.begin(), one.end(), all.begin() + t * vocab)) << "position " << t;
  }
  KvCache alone = transformer.make_cache(8);
  transformer.forward(b, alone, one, true);
  ASSERT_TRUE(std::equal(one.begin(), one.end(), all.begin() + a.size() * vocab));
}

}  // namespace
}  // namespace moe::model
