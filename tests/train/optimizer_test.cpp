// AdamW against torch.optim.AdamW (tests/reference/adamw_reference.py) and the learning-rate
// schedule against hand-computed values of Megatron-Core's formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "train/param_chunks.h"

namespace moe::train {
namespace {

TEST(AdamW, MatchesTorchWithDecayedAndUndecayedGroups) {
  std::vector<float> w = {0.5f, -1.25f, 2.0f, 0.0f}, gw(4);
  std::vector<float> b = {0.1f, -0.2f}, gb(2);
  AdamW adam({{"w", w, gw, true, {}}, {"b", b, gb, false, {}}},
             {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1});
  const float grads_w[3][4] = {{0.3f, -0.1f, 0.0f, 2.0f}, {-0.5f, 0.2f, 1.0f, -1.0f}, {0.05f, 0.05f, -0.3f, 0.7f}};
  const float grads_b[3][2] = {{1.0f, -1.0f}, {0.5f, 0.25f}, {-2.0f, 0.1f}};
  const double lrs[3] = {0.01, 0.005, 0.02};
  for (int s = 0; s < 3; ++s) {
    std::copy(grads_w[s], grads_w[s] + 4, gw.begin());
    std::copy(grads_b[s], grads_b[s] + 2, gb.begin());
    adam.step(lrs[s]);
  }
  const double expect_w[] = {0.49318579972236354, -1.245813007702195, 1.9820061015302528, -0.019190363472457676};
  const double expect_b[] = {0.08937193521833772, -0.18149405878498198};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(w[i], expect_w[i], 2e-6) << i;
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(b[i], expect_b[i], 2e-6) << i;
  EXPECT_EQ(adam.steps(), 3);
}

TEST(AdamW, ShardedRangesGiveTheSameUpdateAsOneOwner) {
  std::vector<float> whole = {1, 2, 3, 4, 5}, parts = whole, grad = {0.1f, -0.2f, 0.3f, -0.4f, 0.5f};
  AdamW all({{"p", whole, grad, true, {}}}, {});
  AdamW low({{"p", parts, grad, true, {}}}, {}, 0, 2);
  AdamW high({{"p", parts, grad, true, {}}}, {}, 2, 5);
  for (int s = 0; s < 4; ++s) {
    all.step(0.1);
    low.step(0.1);
    high.step(0.1);
  }
  EXPECT_EQ(whole, parts);
  EXPECT_EQ(low.exp_avg().size(), 2u);
  EXPECT_EQ(high.exp_avg().size(), 3u);
}

// Parameters spanning several chunks (kParamChunk) with a sharded range starting mid-chunk: the
// update on a pool has the bits of the update on the calling thread, and so does the gradient
// sum of squares, which equals the sum taken in double (to 1e-12: a different order).
TEST(AdamW, PoolGivesTheSameBitsAsOneThread) {
  std::vector<std::vector<float>> values(3), grads(3);
  const int64_t sizes[3] = {kParamChunk + 7, 3, 2 * kParamChunk + 100};
  double exact = 0;
  for (int t = 0; t < 3; ++t)
    for (int64_t i = 0; i < sizes[t]; ++i) {
      values[t].push_back(std::sin(0.37f * static_cast<float>(i + t)));
      grads[t].push_back(std::cos(0.11f * static_cast<float>(i * (t + 1))));
      exact += static_cast<double>(grads[t].back()) * grads[t].back();
    }
  std::vector<std::vector<float>> pooled_values = values;
  auto refs = [&](std::vector<std::vector<float>>& v) {
    return std::vector<ParamRef>{
        {"a", v[0], grads[0], true, {}}, {"b", v[1], grads[1], false, {}}, {"c", v[2], grads[2], true, {}}};
  };
  const int64_t begin = 1000, total = sizes[0] + sizes[1] + sizes[2];
  AdamW alone(refs(values), {}, begin), pooled(refs(pooled_values), {}, begin);
  ThreadPool pool(3);
  for (int s = 0; s < 3; ++s) {
    alone.step(0.01);
    pooled.step(0.01, &pool);
  }
  EXPECT_EQ(values, pooled_values);
  EXPECT_EQ(alone.exp_avg_sq(), pooled.exp_avg_sq());
  EXPECT_NE(values[2][5], std::sin(0.37f * 7.0f));  // the update moved it
  const double one = gradient_sum_squares(refs(values), 0, total, nullptr);
  EXPECT_EQ(one, gradient_sum_squares(refs(values), 0, total, &pool));
  EXPECT_NEAR(one, exact, 1e-12 * exact);
}

TEST(LrSchedule, WarmupThenCosineOrLinearDecayToMinLr) {
  LrSchedule cosine{.lr = 1.0, .min_lr = 0.1, .warmup_iters = 10, .decay_iters = 110, .style = LrDecayStyle::kCosine};
  EXPECT_DOUBLE_EQ(cosine.at(5), 0.5);
  EXPECT_DOUBLE_EQ(cosine.at(10), 1.0);
  EXPECT_NEAR(cosine.at(35), 0.1 + 0.45 * (std::cos(std::numbers::pi / 4) + 1), 1e-12);
  EXPECT_NEAR(cosine.at(60), 0.55, 1e-12);
  EXPECT_NEAR(cosine.at(110), 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(cosine.at(500), 0.1);
  LrSchedule linear = cosine;
  linear.style = LrDecayStyle::kLinear;
  EXPECT_NEAR(linear.at(35), 0.775, 1e-12);
  LrSchedule constant = cosine;
  constant.style = LrDecayStyle::kConstant;
  EXPECT_DOUBLE_EQ(constant.at(500), 1.0);
  EXPECT_THROW(parse_lr_decay_style("step"), ConfigError);
}

}  // namespace
}  // namespace moe::train
