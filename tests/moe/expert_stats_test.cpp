// ExpertStats counts tokens and probability mass per expert, per window of steps.
#include "moe/expert_stats.h"

#include <gtest/gtest.h>

namespace moe {
namespace {

TEST(ExpertStats, CountsTokensMassAndWindows) {
  ExpertStats stats(2, 4, 2);  // 2 layers, 4 experts, windows of 2 steps
  Routing routing;
  routing.n_tokens = 2;
  routing.top_k = 2;
  routing.expert_ids = {3, 0, 3, 1};
  routing.weights = {0.75f, 0.25f, 0.5f, 0.5f};
  stats.record(1, routing);
  stats.end_step();
  stats.record(1, routing);
  stats.end_step();
  stats.record(0, routing);  // third step: second window
  stats.end_step();
  EXPECT_EQ(stats.tokens()[1], (std::vector<double>{2, 2, 0, 4}));
  EXPECT_EQ(stats.prob_mass()[1], (std::vector<double>{0.5, 1.0, 0, 2.5}));
  EXPECT_EQ(stats.tokens()[0], (std::vector<double>{1, 1, 0, 2}));
  ASSERT_EQ(stats.window_tokens().size(), 2u);
  EXPECT_EQ(stats.window_tokens()[0][1], (std::vector<double>{2, 2, 0, 4}));
  EXPECT_EQ(stats.window_tokens()[1][0], (std::vector<double>{1, 1, 0, 2}));
  EXPECT_EQ(stats.steps(), 3);
}

TEST(ExpertStats, StepsWithoutTokensStillAdvanceWindows) {
  ExpertStats stats(1, 2, 1);
  stats.end_step();
  stats.end_step();
  Routing routing;
  routing.n_tokens = 1;
  routing.top_k = 1;
  routing.expert_ids = {1};
  routing.weights = {1.0f};
  stats.record(0, routing);
  ASSERT_EQ(stats.window_tokens().size(), 3u);  // windows 0 and 1 empty, window 2 holds the token
  EXPECT_EQ(stats.window_tokens()[2][0], (std::vector<double>{0, 1}));
}

}  // namespace
}  // namespace moe
