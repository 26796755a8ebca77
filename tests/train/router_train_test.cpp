// The training router against Megatron-Core's routing, evaluated in float64 by PyTorch
// (tests/golden/megatron_router_cases.json, written by
// tests/reference/megatron_router_reference.py): experts, weights, drops, aux and z losses, the
// expert-bias update, and d_logits from autograd.
#include "train/router_train.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "train/router_train_yaml.h"

namespace moe::train {
namespace {

nlohmann::json load_cases() {
  std::ifstream in(std::string(MOE_GOLDEN_DIR) + "/megatron_router_cases.json");
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in)["cases"];
}

template <typename T>
std::vector<T> flatten(const nlohmann::json& rows) {
  std::vector<T> out;
  for (const auto& row : rows)
    for (const auto& value : row) out.push_back(value.get<T>());
  return out;
}

RouterTrainConfig config_of(const nlohmann::json& keys) {
  RouterTrainConfig config;
  for (const auto& [key, value] : keys.items())
    set_router_train_key(config, key, value.is_string() ? value.get<std::string>() : value.dump(), key);
  return config;
}

TEST(RouterTrain, MatchesMegatronForEveryMode) {
  const nlohmann::json cases = load_cases();
  ASSERT_GE(cases.size(), 19u);  // softmax, sigmoid and sqrtsoftplus modes
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const RouterTrainConfig config = config_of(c["config"]);
    const std::vector<float> logits = flatten<float>(c["logits"]);
    const std::vector<float> bias = c["expert_bias"].get<std::vector<float>>();
    const int64_t n_tokens = static_cast<int64_t>(c["logits"].size());

    RouterSaved saved;
    const RouterTrainOutput out =
        route_forward(logits, n_tokens, config, bias, c["seq_length"].get<int64_t>(), nullptr, &saved);
    EXPECT_EQ(out.experts, flatten<int32_t>(c["experts"]));
    const std::vector<float> weights = flatten<float>(c["weights"]);
    ASSERT_EQ(out.weights.size(), weights.size());
    for (size_t i = 0; i < weights.size(); ++i)  // fp32 rounding of values up to ~2.5
      EXPECT_NEAR(out.weights[i], weights[i], 1e-6 * std::max(1.0f, std::abs(weights[i]))) << i;
    EXPECT_EQ(out.tokens_per_expert, c["tokens_per_expert"].get<std::vector<int64_t>>());
    EXPECT_EQ(out.dropped, c["dropped"].get<int64_t>());
    EXPECT_EQ(out.capacity, c["capacity"].get<int64_t>());
    // The losses are double sums of fp32 logits: only summation order separates them.
    const double aux = c["aux_loss"], z = c["z_loss"];
    EXPECT_NEAR(out.aux_loss, aux, 1e-10 * std::abs(aux) + 1e-15);
    EXPECT_NEAR(out.z_loss, z, 1e-10 * std::abs(z) + 1e-15);

    std::vector<float> d_logits(logits.size(), 99.0f);  // overwritten, not accumulated
    route_backward(saved, config, flatten<float>(c["d_weights"]), d_logits);
    const std::vector<double> expected = flatten<double>(c["d_logits"]);
    double scale = 0;
    for (double value : expected) scale = std::max(scale, std::abs(value));
    // Computed in double, stored in fp32: 1e-5 of the largest gradient is ample.
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_NEAR(d_logits[i], expected[i], 1e-5 * scale + 1e-12) << "d_logits " << i;

    if (c.contains("updated_bias")) {
      std::vector<float> updated = bias;
      update_expert_bias(updated, out.tokens_per_expert, config.bias_update_rate);
      const std::vector<double> want = c["updated_bias"].get<std::vector<double>>();
      for (size_t e = 0; e < want.size(); ++e) EXPECT_NEAR(updated[e], want[e], 1e-7) << e;
    }
  }
}

}  // namespace
}  // namespace moe::train
