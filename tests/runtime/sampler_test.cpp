// Sampler against tests/golden/sampler_cases.json (tests/reference/sampler_reference.py, written
// from vLLM's sampler): each penalty's and the logit bias's exact effect on a small logit vector,
// the distribution after temperature, min-p, top-k and top-p, greedy on the penalized logits,
// seeded draws, token_logprobs, and the options' errors.
#include "runtime/sampler.h"

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace moe::runtime {
namespace {

nlohmann::json golden() {
  std::ifstream file(MOE_GOLDEN_DIR "/sampler_cases.json");
  EXPECT_TRUE(file.good());
  return nlohmann::json::parse(file);
}

// Logits whose argmax is `token` whatever the penalties of the cases do.
std::vector<float> one_hot(int32_t token, size_t n) {
  std::vector<float> logits(n, 0.0f);
  logits[token] = 1e4f;
  return logits;
}

SamplerOptions penalty_options(const nlohmann::json& c) {
  SamplerOptions options;
  options.temperature = 0;
  options.repetition_penalty = c["repetition_penalty"].get<float>();
  options.frequency_penalty = c["frequency_penalty"].get<float>();
  options.presence_penalty = c["presence_penalty"].get<float>();
  for (const auto& [token, bias] : c["logit_bias"].items()) options.logit_bias.emplace_back(std::stoi(token), bias);
  return options;
}

TEST(Sampler, PenaltiesAndBiasMatchVllm) {
  const nlohmann::json g = golden();
  const auto logits = g["logits"].get<std::vector<float>>();
  for (const nlohmann::json& c : g["penalty_cases"]) {
    const auto prompt = c["prompt"].get<std::vector<int32_t>>();
    Sampler sampler(penalty_options(c), prompt);
    for (const int32_t token : c["generated"].get<std::vector<int32_t>>())
      ASSERT_EQ(sampler.sample(one_hot(token, logits.size())), token) << c["name"];
    const std::span<const float> penalized = sampler.penalized(logits);
    const auto want = c["penalized"].get<std::vector<float>>();
    ASSERT_EQ(penalized.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_FLOAT_EQ(penalized[i], want[i]) << c["name"] << " token " << i;  // the same float32 ops
  }
}

TEST(Sampler, GreedyPicksTheArgmaxOfThePenalizedLogits) {
  const nlohmann::json g = golden();
  const auto logits = g["logits"].get<std::vector<float>>();
  EXPECT_EQ(argmax(logits), 0);
  std::map<std::string, int32_t> want = {{"frequency", 1}, {"presence", 1}, {"logit_bias", 2}, {"all", 4}};
  for (const nlohmann::json& c : g["penalty_cases"]) {
    const auto it = want.find(c["name"]);
    if (it == want.end()) continue;
    Sampler sampler(penalty_options(c), c["prompt"].get<std::vector<int32_t>>());
    for (const int32_t token : c["generated"].get<std::vector<int32_t>>())
      sampler.sample(one_hot(token, logits.size()));
    EXPECT_EQ(sampler.sample(logits), it->second) << c["name"];
    want.erase(it);
  }
  EXPECT_TRUE(want.empty());
}

TEST(Sampler, DistributionMatchesVllm) {
  const nlohmann::json g = golden();
  const auto logits = g["wide_logits"].get<std::vector<float>>();
  for (const nlohmann::json& c : g["distribution_cases"]) {
    SamplerOptions options;
    options.temperature = c["temperature"].get<float>();
    options.top_k = c["top_k"].get<int64_t>();
    options.top_p = c["top_p"].get<float>();
    options.min_p = c["min_p"].get<float>();
    const std::vector<TokenWeight> got = sampling_distribution(logits, options);
    const auto tokens = c["tokens"].get<std::vector<int32_t>>();
    const auto probabilities = c["probabilities"].get<std::vector<double>>();
    ASSERT_EQ(got.size(), tokens.size()) << c["name"];
    double sum = 0;
    for (const TokenWeight& entry : got) sum += entry.weight;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].token, tokens[i]) << c["name"] << " rank " << i;
      // float64 in both, from float32 top_p and temperature: 1e-6 covers their rounding.
      EXPECT_NEAR(got[i].weight / sum, probabilities[i], 1e-6) << c["name"] << " rank " << i;
    }
  }
}

TEST(Sampler, SeededDrawsRepeatAndStayInTheDistribution) {
  const auto logits = golden()["wide_logits"].get<std::vector<float>>();
  SamplerOptions options;
  options.temperature = 1;
  options.top_k = 3;  // tokens 12, 7, 2 with probabilities 0.5685, 0.2379, 0.1935
  options.top_p = 1;
  options.seed = 5;
  Sampler first(options), second(options);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 2000; ++i) {
    const int32_t token = first.sample(logits);
    ASSERT_EQ(second.sample(logits), token) << "draw " << i;
    ++counts[token];
  }
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_NEAR(counts[12] / 2000.0, 0.5685, 0.03);  // fixed seed: a fixed count, 3 sigma away at most
  EXPECT_NEAR(counts[7] / 2000.0, 0.2379, 0.03);
  Sampler seed_5(options);
  options.seed = 6;
  Sampler seed_6(options);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += seed_5.sample(logits) == seed_6.sample(logits);
  EXPECT_LT(same, 100);
}

TEST(Sampler, TokenLogprobsAreALogSoftmax) {
  const auto logits = golden()["wide_logits"].get<std::vector<float>>();
  const Logprobs all = token_logprobs(logits, 7, 16);
  ASSERT_EQ(all.top.size(), 16u);
  double mass = 0;
  for (const TokenLogprob& entry : all.top) mass += std::exp(entry.logprob);
  EXPECT_NEAR(mass, 1.0, 1e-6);
  EXPECT_EQ(all.top[0].token, 12);
  EXPECT_EQ(all.top[1].token, 7);
  EXPECT_EQ(all.chosen.token, 7);
  EXPECT_EQ(all.chosen.logprob, all.top[1].logprob);
  EXPECT_NEAR(all.top[0].logprob - all.top[1].logprob, logits[12] - logits[7], 1e-5);
  EXPECT_TRUE(token_logprobs(logits, 3, 0).top.empty());
}

TEST(Sampler, BadOptionsNameTheField) {
  // The message of validate() with one field changed from the defaults.
  const auto message = [](auto change) {
    SamplerOptions options;
    change(options);
    try {
      options.validate();
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message([](SamplerOptions& o) { o.min_p = 1.5f; }).find("min_p"), std::string::npos);
  EXPECT_NE(message([](SamplerOptions& o) { o.presence_penalty = NAN; }).find("presence_penalty"), std::string::npos);
  EXPECT_NE(message([](SamplerOptions& o) { o.frequency_penalty = INFINITY; }).find("frequency_penalty"),
            std::string::npos);
  EXPECT_NE(message([](SamplerOptions& o) { o.repetition_penalty = 0; }).find("repetition_penalty"), std::string::npos);
  EXPECT_NE(message([](SamplerOptions& o) { o.logit_bias = {{-1, 1.0f}}; }).find("logit_bias"), std::string::npos);
  EXPECT_EQ(message([](SamplerOptions&) {}), "");
  SamplerOptions options;
  options.temperature = 0;
  options.logit_bias = {{8, 1.0f}};
  Sampler sampler(options);
  const std::vector<float> logits(8, 0.0f);
  EXPECT_THROW(sampler.sample(logits), UsageError);  // token 8 outside 8 logits
}

}  // namespace
}  // namespace moe::runtime
