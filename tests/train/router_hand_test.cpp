// The training router on cases small enough to work out by hand, and its backward against finite
// differences of its own forward.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "train/router_train.h"

namespace moe::train {
namespace {

RouterTrainConfig base(int64_t n_experts, int64_t k) {
  RouterTrainConfig config;
  config.num_experts = n_experts;
  config.topk = k;
  config.load_balancing = LoadBalancing::kNone;
  return config;
}

TEST(RouterHand, SoftmaxOverTheChosenLogits) {
  // Top-2 logits ln 3, ln 2: softmax over them = 3/5, 2/5.
  const std::vector<float> logits = {0.0f, std::log(3.0f), std::log(2.0f), -20.0f};
  const RouterTrainOutput out = route_forward(logits, 1, base(4, 2), {}, 0, nullptr, nullptr);
  EXPECT_EQ(out.experts, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(out.weights[0], 0.6f, 1e-7);
  EXPECT_NEAR(out.weights[1], 0.4f, 1e-7);
  EXPECT_EQ(out.tokens_per_expert, (std::vector<int64_t>{0, 1, 1, 0}));
}

TEST(RouterHand, AuxLossAndItsGradient) {
  // Pre-softmax top-1 of 2 experts, coeff 0.1. Probabilities: token 0 {2/3, 1/3}, token 1
  // {3/4, 1/4}; both pick expert 0, so c = {2, 0}.
  // aux = 0.1 * E / (k T^2) * sum_i c_i sum_t p = 0.1 * 2 / 4 * (2 * 17/12) = 0.141666...
  RouterTrainConfig config = base(2, 1);
  config.pre_softmax = true;
  config.load_balancing = LoadBalancing::kAuxLoss;
  config.aux_loss_coeff = 0.1;
  const std::vector<float> logits = {std::log(2.0f), 0.0f, std::log(3.0f), 0.0f};
  RouterSaved saved;
  const RouterTrainOutput out = route_forward(logits, 2, config, {}, 0, nullptr, &saved);
  EXPECT_NEAR(out.aux_loss, 0.1 * 2 / 4 * (2 * 17.0 / 12), 1e-8);
  // d aux / d p[t][i] = a_i = 0.05 c_i = {0.1, 0}; through softmax: p_j (a_j - sum_i p_i a_i).
  // Token 0: sum = 2/30, d = {2/3 (0.1 - 1/15), 1/3 (0 - 1/15)} = {1/45, -1/45}.
  std::vector<float> d_logits(4);
  route_backward(saved, config, std::vector<float>(2, 0.0f), d_logits);
  EXPECT_NEAR(d_logits[0], 1.0 / 45, 1e-7);
  EXPECT_NEAR(d_logits[1], -1.0 / 45, 1e-7);
  // Token 1: sum = 0.075, d = {3/4 * 0.025, 1/4 * -0.075}.
  EXPECT_NEAR(d_logits[2], 0.75 * 0.025, 1e-7);
  EXPECT_NEAR(d_logits[3], -0.25 * 0.075, 1e-7);
}

TEST(RouterHand, ZLossOfEqualLogits) {
  // lse of 4 zeros = ln 4; z = coeff (ln 4)^2; gradient coeff * 2 ln 4 * 1/4 per logit.
  RouterTrainConfig config = base(4, 2);
  config.z_loss_coeff = 0.01;
  const std::vector<float> logits(4, 0.0f);
  RouterSaved saved;
  const RouterTrainOutput out = route_forward(logits, 1, config, {}, 0, nullptr, &saved);
  EXPECT_NEAR(out.z_loss, 0.01 * std::log(4.0) * std::log(4.0), 1e-12);
  std::vector<float> d_logits(4);
  route_backward(saved, config, std::vector<float>(2, 0.0f), d_logits);
  for (float d : d_logits) EXPECT_NEAR(d, 0.01 * 2 * std::log(4.0) / 4, 1e-8);
}

// Four tokens all preferring expert 0 (probabilities 0.6, 0.9, 0.7, 0.8); capacity
// ceil(4 * 1 / 2 * 1.0) = 2.
RouterTrainOutput crowded(DropPolicy policy) {
  RouterTrainConfig config = base(2, 1);
  config.pre_softmax = true;
  config.capacity_factor = 1.0;
  config.drop_policy = policy;
  std::vector<float> logits;
  for (double p : {0.6, 0.9, 0.7, 0.8}) {
    logits.push_back(static_cast<float>(std::log(p / (1 - p))));
    logits.push_back(0.0f);
  }
  return route_forward(logits, 4, config, {}, 0, nullptr, nullptr);
}

TEST(RouterHand, CapacityDropsByPosition) {
  const RouterTrainOutput out = crowded(DropPolicy::kPosition);
  EXPECT_EQ(out.capacity, 2);
  EXPECT_EQ(out.experts, (std::vector<int32_t>{0, 0, -1, -1}));
  EXPECT_EQ(out.weights[2], 0.0f);
  EXPECT_EQ(out.dropped, 2);
  EXPECT_EQ(out.tokens_per_expert, (std::vector<int64_t>{2, 0}));
}

TEST(RouterHand, CapacityDropsByProbability) {
  const RouterTrainOutput out = crowded(DropPolicy::kProbs);
  EXPECT_EQ(out.experts, (std::vector<int32_t>{-1, 0, -1, 0}));  // keeps 0.9 and 0.8
  EXPECT_NEAR(out.weights[1], 0.9f, 1e-6);
  EXPECT_EQ(out.dropped, 2);
}

TEST(RouterHand, SinkhornSpreadsWhatTopkWouldCrowd) {
  // Every token prefers expert 0; plain top-1 would send all four there. Sinkhorn balances the
  // columns, so the two strongest preferences keep expert 0 and the others go to expert 1.
  RouterTrainConfig config = base(2, 1);
  config.load_balancing = LoadBalancing::kSinkhorn;
  const std::vector<float> logits = {2, 0, 1.5, 0, 1, 0, 0.5, 0};
  const RouterTrainOutput out = route_forward(logits, 4, config, {}, 0, nullptr, nullptr);
  EXPECT_EQ(out.experts, (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_NEAR(out.weights[2], 1.0 / (1.0 + std::exp(-0.0)), 1e-7);  // sigmoid of the chosen logit
  EXPECT_NEAR(out.weights[0], 1.0 / (1.0 + std::exp(-2.0)), 1e-7);
}

TEST(RouterHand, ExpertBiasUpdateFollowsTheSignOfTheDeficit) {
  std::vector<float> bias = {0.5f, 0.0f, -0.5f, 0.25f};
  update_expert_bias(bias, std::vector<int64_t>{4, 2, 0, 2}, 0.125);  // mean 2
  EXPECT_EQ(bias, (std::vector<float>{0.375f, 0.0f, -0.375f, 0.25f}));
}

TEST(RouterHand, BiasSelectsButDoesNotWeigh) {
  // sigmoid scores of logits {0, 0.1, -0.1}; a bias of +1 on expert 2 selects it, and its weight
  // is its own unbiased score normalised with the other chosen one.
  RouterTrainConfig config = base(3, 2);
  config.score_function = ScoreFunction::kSigmoid;
  config.enable_expert_bias = true;
  const std::vector<float> logits = {0.0f, 0.1f, -0.1f}, bias = {0.0f, 0.0f, 1.0f};
  const RouterTrainOutput out = route_forward(logits, 1, config, bias, 0, nullptr, nullptr);
  EXPECT_EQ(out.experts, (std::vector<int32_t>{2, 1}));
  const double s2 = 1 / (1 + std::exp(0.1)), s1 = 1 / (1 + std::exp(-0.1));
  EXPECT_NEAR(out.weights[0], s2 / (s1 + s2), 1e-7);
}

TEST(RouterHand, InputErrors) {
  RouterTrainConfig config = base(4, 2);
  EXPECT_THROW(route_forward(std::vector<float>(7), 2, config, {}, 0, nullptr, nullptr), UsageError);
  EXPECT_THROW(route_forward(std::vector<float>(8), 2, config, std::vector<float>(4), 0, nullptr, nullptr),
               UsageError);  // bias without moe_router_enable_expert_bias
  config.load_balancing = LoadBalancing::kSeqAuxLoss;
  config.aux_loss_coeff = 0.1;
  EXPECT_THROW(route_forward(std::vector<float>(12), 3, config, {}, 2, nullptr, nullptr), UsageError);
}

// Loss = sum d_weights * weights + aux + z, from the forward alone (selection must not change).
double total_loss(const std::vector<float>& logits, int64_t n_tokens, const RouterTrainConfig& config,
                  const std::vector<float>& d_weights, int64_t seq_length) {
  const RouterTrainOutput out = route_forward(logits, n_tokens, config, {}, seq_length, nullptr, nullptr);
  double loss = out.aux_loss + out.z_loss;
  for (size_t i = 0; i < d_weights.size(); ++i) loss += double(d_weights[i]) * out.weights[i];
  return loss;
}

void expect_matches_finite_differences(const RouterTrainConfig& config, int64_t seq_length) {
  const int64_t n_tokens = 4, n = config.num_experts, k = config.topk;
  std::vector<float> logits(n_tokens * n), d_weights(n_tokens * k);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(1.7 * i + 0.3) * 2.0f;
  for (size_t i = 0; i < d_weights.size(); ++i) d_weights[i] = std::cos(0.9 * i);
  RouterSaved saved;
  route_forward(logits, n_tokens, config, {}, seq_length, nullptr, &saved);
  std::vector<float> d_logits(logits.size());
  route_backward(saved, config, d_weights, d_logits);
  // Central differences with h = 1e-2 on fp32 weights: error ~h^2 + 1e-7 / h, so 2e-4.
  const float h = 1e-2f;
  for (size_t i = 0; i < logits.size(); ++i) {
    std::vector<float> plus = logits, minus = logits;
    plus[i] += h;
    minus[i] -= h;
    const double numeric = (total_loss(plus, n_tokens, config, d_weights, seq_length) -
                            total_loss(minus, n_tokens, config, d_weights, seq_length)) /
                           (2 * h);
    EXPECT_NEAR(d_logits[i], numeric, 2e-4) << "logit " << i;
  }
}

TEST(RouterHand, BackwardMatchesFiniteDifferences) {
  RouterTrainConfig softmax = base(5, 2);
  softmax.load_balancing = LoadBalancing::kAuxLoss;
  softmax.aux_loss_coeff = 0.1;
  softmax.z_loss_coeff = 0.01;
  expect_matches_finite_differences(softmax, 0);
  softmax.pre_softmax = true;
  softmax.topk_scaling_factor = 2.0;
  expect_matches_finite_differences(softmax, 0);

  RouterTrainConfig sigmoid = base(6, 3);
  sigmoid.score_function = ScoreFunction::kSigmoid;
  sigmoid.load_balancing = LoadBalancing::kSeqAuxLoss;
  sigmoid.aux_loss_coeff = 0.2;
  expect_matches_finite_differences(sigmoid, 2);
}

}  // namespace
}  // namespace moe::train
