// Imbalance metrics on hand-computed loads (file reading is tested with moe/balance/load_stats).
#include "runtime/stats_file.h"

#include <gtest/gtest.h>

#include <cmath>

namespace moe::runtime {
namespace {

TEST(StatsFile, ImbalanceOfHandComputedLoads) {
  // Experts 0..3 over 2 ranks: rank loads 1 + 3 = 4 and 0 + 4 = 4 -> balanced ranks.
  LayerImbalance m = layer_imbalance(std::vector<double>{1, 3, 0, 4}, 2);
  EXPECT_DOUBLE_EQ(m.max_mean_rank_load, 1.0);
  EXPECT_DOUBLE_EQ(m.excess, 0.0);
  // Expert loads mean 2, variance (1 + 1 + 4 + 4) / 4 = 2.5 -> CV sqrt(2.5) / 2.
  EXPECT_NEAR(m.cv, std::sqrt(2.5) / 2, 1e-12);
  // Over 4 ranks: max 4, mean 2.
  m = layer_imbalance(std::vector<double>{1, 3, 0, 4}, 4);
  EXPECT_DOUBLE_EQ(m.max_mean_rank_load, 2.0);
  EXPECT_DOUBLE_EQ(m.excess, 1.0);
  // Uniform loads have entropy 1; one hot expert 0.
  EXPECT_NEAR(layer_imbalance(std::vector<double>{5, 5, 5, 5}, 2).entropy, 1.0, 1e-12);
  EXPECT_NEAR(layer_imbalance(std::vector<double>{0, 0, 7, 0}, 2).entropy, 0.0, 1e-12);
}

}  // namespace
}  // namespace moe::runtime
