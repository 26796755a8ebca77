// Router modes against hand-computed cases and the PyTorch reference's golden cases
// (tests/golden/router_cases.json, written by tests/reference/router_reference.py).
#include "moe/router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace moe {
namespace {

RouterConfig softmax_config(int64_t n_experts, int64_t k, bool renormalize) {
  RouterConfig config;
  config.n_experts = n_experts;
  config.top_k = k;
  config.renormalize = renormalize;
  return config;
}

TEST(Router, RenormIsSoftmaxOverTheChosenLogits) {
  // logits 0, ln 3, ln 2, -inf-ish: softmax over {ln 3, ln 2} = {3/5, 2/5}.
  const float logits[] = {0.0f, std::log(3.0f), std::log(2.0f), -20.0f};
  const Routing r = route(logits, 1, softmax_config(4, 2, true));
  EXPECT_EQ(r.expert_ids, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.weights[0], 0.6f, 1e-6);
  EXPECT_NEAR(r.weights[1], 0.4f, 1e-6);
}

TEST(Router, NoneKeepsTheFullSoftmaxProbabilities) {
  // exp: 1, 3, 2, ~0 -> probabilities 1/6, 1/2, 1/3.
  const float logits[] = {0.0f, std::log(3.0f), std::log(2.0f), -30.0f};
  const Routing r = route(logits, 1, softmax_config(4, 2, false));
  EXPECT_EQ(r.expert_ids, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.weights[0], 0.5f, 1e-6);
  EXPECT_NEAR(r.weights[1], 1.0f / 3, 1e-6);
}

TEST(Router, TiesGoToTheLowestExpertId) {
  const float logits[] = {1.0f, 2.0f, 2.0f, 2.0f, 1.0f, 2.0f};
  const Routing r = route(logits, 1, softmax_config(6, 3, true));
  EXPECT_EQ(r.expert_ids, (std::vector<int32_t>{1, 2, 3}));
  for (float w : r.weights) EXPECT_NEAR(w, 1.0f / 3, 1e-6);
}

TEST(Router, SigmoidBiasSelectsButDoesNotWeigh) {
  // sigmoid(0) = 0.5, sigmoid(ln 3) = 0.75, sigmoid(ln 1/3) = 0.25. The bias lifts expert 2 above
  // expert 1 for selection; the weights use unbiased scores: 0.75 / (0.75 + 0.25) * 2.
  RouterConfig config;
  config.n_experts = 3;
  config.top_k = 2;
  config.score_function = ScoreFunction::kSigmoid;
  config.renormalize = true;
  config.routed_scaling_factor = 2.0f;
  config.expert_bias = {0.0f, 0.0f, 0.3f};
  const float logits[] = {std::log(3.0f), 0.0f, std::log(1.0f / 3)};
  const Routing r = route(logits, 1, config);
  EXPECT_EQ(r.expert_ids, (std::vector<int32_t>{0, 2}));
  EXPECT_NEAR(r.weights[0], 1.5f, 1e-6);
  EXPECT_NEAR(r.weights[1], 0.5f, 1e-6);
}

TEST(Router, SqrtSoftplusScoresAndBias) {
  // softplus(ln 3) = ln 4, softplus(ln(e - 1)) = 1, softplus(30) = 30 (PyTorch's threshold 20):
  // scores sqrt(ln 4) = 1.1774, 1, sqrt(30) = 5.4772. The bias lifts expert 1 above expert 0 for
  // selection; the weights are the unbiased scores normalised over the two chosen.
  RouterConfig config;
  config.n_experts = 3;
  config.top_k = 2;
  config.score_function = ScoreFunction::kSqrtSoftplus;
  config.renormalize = true;
  config.expert_bias = {0.0f, 0.5f, 0.0f};
  const float logits[] = {std::log(3.0f), std::log(std::exp(1.0f) - 1.0f), 30.0f};
  const Routing r = route(logits, 1, config);
  EXPECT_EQ(r.expert_ids, (std::vector<int32_t>{2, 1}));
  const double s2 = std::sqrt(30.0), s1 = 1.0;
  EXPECT_NEAR(r.weights[0], s2 / (s1 + s2), 1e-6);
  EXPECT_NEAR(r.weights[1], s1 / (s1 + s2), 1e-6);
  EXPECT_EQ(score_function_from_name("sqrtsoftplus"), ScoreFunction::kSqrtSoftplus);
  EXPECT_FALSE(score_function_from_name("softplus"));
  // d sqrt(softplus(x)) / dx = sigmoid(x) / (2 sqrt(softplus(x))), against a central difference.
  for (double x : {-3.0, 0.0, 2.5, 19.0}) {
    const double h = 1e-6;
    const double numeric = (elementwise_score(ScoreFunction::kSqrtSoftplus, x + h) -
                            elementwise_score(ScoreFunction::kSqrtSoftplus, x - h)) /
                           (2 * h);
    EXPECT_NEAR(elementwise_score_derivative(ScoreFunction::kSqrtSoftplus, x), numeric, 1e-7) << x;
  }
}

TEST(Router, GroupLimitKeepsOnlyTheBestGroups) {
  // 2 groups of 3; group 0 max 5, group 1 max 4: with 1 group kept, expert 3 (score 4) is out
  // although it beats expert 1 (score 3).
  RouterConfig config = softmax_config(6, 2, true);
  config.n_groups = 2;
  config.topk_groups = 1;
  const float logits[] = {5.0f, 3.0f, 0.0f, 4.0f, 0.0f, 0.0f};
  const Routing r = route(logits, 1, config);
  EXPECT_EQ(r.expert_ids, (std::vector<int32_t>{0, 1}));
}

TEST(Router, GroupScoreSumsTheGroupsBestScores) {
  // Group 0 holds {5, 0, 0}, group 1 {4, 3, 0}: by its best score group 0 wins (DeepSeek-V2, the
  // default), by the sum of its best two group 1 does (DeepSeek-V3, Megatron with k / groups = 2).
  RouterConfig config = softmax_config(6, 2, true);
  config.n_groups = 2;
  config.topk_groups = 1;
  const float logits[] = {5.0f, 0.0f, 0.0f, 4.0f, 3.0f, 0.0f};
  EXPECT_EQ(route(logits, 1, config).expert_ids, (std::vector<int32_t>{0, 1}));
  config.group_score_top = 2;
  EXPECT_EQ(route(logits, 1, config).expert_ids, (std::vector<int32_t>{3, 4}));
}

TEST(Router, InvalidConfigNamesTheKey) {
  RouterConfig config = softmax_config(8, 9, true);
  try {
    config.validate();
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("num_experts_per_tok"), std::string::npos);
  }
  config = softmax_config(8, 2, true);
  config.n_groups = 3;
  EXPECT_THROW(config.validate(), ConfigError);
}

// Our experts/weights listed by descending weight (ties lowest id), as the golden file lists them.
std::vector<std::pair<float, int32_t>> by_weight(const Routing& r, int64_t token) {
  std::vector<std::pair<float, int32_t>> out;
  for (int64_t j = 0; j < r.top_k; ++j)
    out.emplace_back(r.weights[token * r.top_k + j], r.expert_ids[token * r.top_k + j]);
  std::sort(out.begin(), out.end(),
            [](auto a, auto b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  return out;
}

TEST(Router, EveryModeMatchesTheReference) {
  std::ifstream file(MOE_GOLDEN_DIR "/router_cases.json");
  ASSERT_TRUE(file.good());
  const nlohmann::json golden = nlohmann::json::parse(file);
  int checked = 0;
  for (const auto& c : golden["cases"]) {
    const int64_t n_tokens = c["tokens"], n_experts = c["experts"], k = c["k"];
    std::vector<float> logits;
    for (const auto& row : c["logits"])
      for (float v : row) logits.push_back(v);
    for (const auto& [mode, expected] : c["modes"].items()) {
      RouterConfig config = softmax_config(n_experts, k, mode == "renorm");
      if (mode.rfind("sigmoid", 0) == 0) {
        config.score_function = ScoreFunction::kSigmoid;
        config.renormalize = true;
      }
      if (expected.value("uses_bias", false)) config.expert_bias = c["bias"].get<std::vector<float>>();
      config.routed_scaling_factor = expected.value("routed_scaling_factor", 1.0f);
      if (expected.contains("n_group")) {
        config.n_groups = expected["n_group"];
        config.topk_groups = expected["topk_group"];
      }
      const Routing r = route(logits.data(), n_tokens, config);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const auto ours = by_weight(r, t);
        for (int64_t j = 0; j < k; ++j) {
          EXPECT_EQ(ours[j].second, expected["experts"][t][j].get<int32_t>()) << c["name"] << " " << mode << " t" << t;
          // fp32 softmax/sigmoid vs the float64 reference: a few ulps of values <= scale 2.5.
          EXPECT_NEAR(ours[j].first, expected["weights"][t][j].get<double>(), 2e-6) << c["name"] << " " << mode;
        }
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
}

}  // namespace
}  // namespace moe
