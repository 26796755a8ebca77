// Every tiny preset against the independent PyTorch reference (tests/golden/<preset>.json, made by
// tests/reference/make_golden.py from `moe init --preset P --seed 7`): logits of every prompt
// position within 1e-4 of the logit scale, identical greedy tokens; the same from the GGUF form
// where the architecture has one, and for MLA models with either KV cache (latent, decompressed).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "model/arch/arch_table.h"
#include "model/presets.h"
#include "model/transformer.h"
#include "model_test_util.h"

namespace moe::model {
namespace {

constexpr uint64_t kGoldenSeed = 7;

nlohmann::json load_golden(const std::string& preset) {
  std::ifstream file(std::string(MOE_GOLDEN_DIR) + "/" + preset + ".json");
  EXPECT_TRUE(file.good()) << preset;
  return nlohmann::json::parse(file);
}

using testing::tmp_path;

// Checks logits [n_positions, vocab] against the golden rows; returns the largest relative error.
double compare_logits(const std::vector<float>& logits, const nlohmann::json& expected, int64_t vocab) {
  double scale = 0, max_error = 0;
  for (const auto& row : expected)
    for (double v : row) scale = std::max(scale, std::fabs(v));
  for (size_t t = 0; t < expected.size(); ++t)
    for (int64_t i = 0; i < vocab; ++i)
      max_error = std::max(max_error, std::fabs(logits[t * vocab + i] - expected[t][i].get<double>()));
  return max_error / scale;
}

void check_model(const Model& model, const nlohmann::json& golden, const std::string& label,
                 MlaCache mla_cache = MlaCache::kLatent) {
  ThreadPool pool(2);
  Transformer transformer(model, pool);
  transformer.set_mla_cache(mla_cache);
  const std::vector<int32_t> prompt = golden["prompt_tokens"].get<std::vector<int32_t>>();
  const int64_t vocab = model.config.vocab_size;
  const auto& greedy = golden["greedy_tokens"];
  KvCache cache = transformer.make_cache(static_cast<int64_t>(prompt.size() + greedy.size()));
  std::vector<float> logits;
  transformer.forward(prompt, cache, logits, true);
  const double error = compare_logits(logits, golden["logits"], vocab);
  EXPECT_LT(error, 1e-4) << label << ": prompt logits differ from the reference";
  std::printf("%s: max |logit - reference| / max |reference| = %.2e\n", label.c_str(), error);

  // Greedy decode with the KV cache, one token at a time.
  std::vector<float> last(logits.end() - vocab, logits.end());
  for (size_t i = 0; i < greedy.size(); ++i) {
    const auto token = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    ASSERT_EQ(token, greedy[i].get<int32_t>()) << label << ": greedy token " << i;
    if (i + 1 < greedy.size()) {
      transformer.forward(std::span<const int32_t>(&token, 1), cache, last, false);
    }
  }
  const double last_error = compare_logits(last, nlohmann::json::array({golden["greedy_logits_last"]}), vocab);
  EXPECT_LT(last_error, 1e-4) << label << ": logits after decoding differ";
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, HfAndGgufMatchTheReference) {
  const std::string preset = GetParam();
  const nlohmann::json golden = load_golden(preset);
  const std::string dir = tmp_path("golden-" + preset);
  save_model(make_preset_model(preset, kGoldenSeed, DType::kF32), dir, FileFormat::kHf);
  const Model hf = load_model(dir);
  EXPECT_EQ(config_to_hf(hf.config), config_to_hf(config_from_hf(golden["config"], "golden")));
  check_model(hf, golden, preset + " (HF)");
  if (hf.config.attention().kind == AttentionKind::kMla)
    check_model(hf, golden, preset + " (HF, decompressed KV)", MlaCache::kDecompressed);
  if (!arch_table(hf.config.arch).gguf_supported) return;
  // GGUF holds one YaRN mscale (deepseek-v2-tiny's differ: refused, deepseek_gguf_test.cpp).
  const auto& yarn = hf.config.rope_scaling;
  if (yarn && yarn->mscale != yarn->mscale_all_dim) return;

  const std::string gguf_path = tmp_path("golden-" + preset + ".gguf");
  save_model(hf, gguf_path, FileFormat::kGguf);
  check_model(load_model(gguf_path), golden, preset + " (GGUF)");
}

INSTANTIATE_TEST_SUITE_P(Presets, Golden,
                         ::testing::Values("mixtral-tiny", "qwen2moe-tiny", "qwen3moe-tiny", "olmoe-tiny",
                                           "deepseek-tiny", "deepseek-v2-tiny", "deepseek-v2-lite-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Prefill of the whole prompt and token-by-token decode give bit-identical logits.
TEST(Transformer, BatchedPrefillEqualsTokenByToken) {
  const Model model = make_preset_model("qwen2moe-tiny", 3, DType::kF32);
  ThreadPool pool(2);
  Transformer transformer(model, pool);
  const std::vector<int32_t> tokens = {1, 5, 9, 200, 3, 77, 400, 12};
  KvCache batched = transformer.make_cache(8), stepwise = transformer.make_cache(8);
  std::vector<float> all, one;
  transformer.forward(tokens, batched, all, true);
  const int64_t vocab = model.config.vocab_size;
  for (size_t t = 0; t < tokens.size(); ++t) {
    transformer.forward(std::span<const int32_t>(&tokens[t], 1), stepwise, one, false);
    ASSERT_TRUE(std::equal(one.begin(), one.end(), all.begin() + t * vocab)) << "position " << t;
  }
}

// Sequences batched together give bit-identical logits to each sequence run alone.
TEST(Transformer, BatchedSequencesEqualSeparateRuns) {
  const Model model = make_preset_model("mixtral-tiny", 3, DType::kF32);
  ThreadPool pool(2);
  Transformer transformer(model, pool);
  const std::vector<int32_t> a = {1, 5, 9, 200, 3}, b = {1, 77, 400}, c = {1, 12, 13, 14, 15, 16, 17};
  std::vector<KvCache> caches;
  for (int i = 0; i < 3; ++i) caches.push_back(transformer.make_cache(8));
  const std::vector<SequenceSlice> batch = {{a, &caches[0], true}, {b, &caches[1], false}, {c, &caches[2], true}};
  std::vector<float> batched;
  transformer.forward(batch, batched);
  const int64_t vocab = model.config.vocab_size;
  ASSERT_EQ(static_cast<int64_t>(batched.size()), (5 + 1 + 7) * vocab);
  std::vector<float> alone;
  int64_t offset = 0;
  for (const auto& [tokens, all] : {std::pair{a, true}, std::pair{b, false}, std::pair{c, true}}) {
    KvCache cache = transformer.make_cache(8);
    transformer.forward(tokens, cache, alone, all);
    ASSERT_TRUE(std::equal(alone.begin(), alone.end(), batched.begin() + offset));
    offset += static_cast<int64_t>(alone.size());
  }
}

}  // namespace
}  // namespace moe::model
