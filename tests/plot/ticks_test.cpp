// Axis ticks: the tick algorithm on hand-worked ranges, and tick labels.
#include "plot/ticks.h"

#include <gtest/gtest.h>

namespace moe::plot {
namespace {

TEST(Ticks, OfZeroToTenAreEvenNumbers) {
  const Ticks ticks = nice_ticks(0, 10, 6);
  EXPECT_EQ(ticks.values, (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(ticks.step, 2);
  EXPECT_EQ(ticks.decimals, 0);
  // With room for 11 ticks the step is 1; with 3 it is 5.
  EXPECT_EQ(nice_ticks(0, 10, 11).values.size(), 11u);
  EXPECT_EQ(nice_ticks(0, 10, 3).values, (std::vector<double>{0, 5, 10}));
}

TEST(Ticks, CoverAnUnroundRange) {
  // (0.0487 - 0.013) / 5 = 0.00714: steps 0.001, 0.002 and 0.005 need 37, 20 and 9 ticks; 0.01 needs 5.
  const Ticks ticks = nice_ticks(0.013, 0.0487, 6);
  EXPECT_DOUBLE_EQ(ticks.step, 0.01);
  EXPECT_EQ(ticks.decimals, 2);
  ASSERT_EQ(ticks.values.size(), 5u);
  EXPECT_DOUBLE_EQ(ticks.values.front(), 0.01);
  EXPECT_DOUBLE_EQ(ticks.values.back(), 0.05);
  // -7..3: step 2 needs -8..4 (7 ticks), step 5 -10..5 (4).
  EXPECT_EQ(nice_ticks(-7, 3, 6).values, (std::vector<double>{-10, -5, 0, 5}));
  // 0.1..0.3 by 0.1: 0.3 / 0.1 is 2.9999999999999996 in doubles, still 3 ticks.
  EXPECT_EQ(nice_ticks(0.1, 0.3, 3).values.size(), 3u);
}

TEST(Ticks, OneValueGetsARangeAroundIt) {
  const Ticks ticks = nice_ticks(3, 3, 6);  // widened to 2.7..3.3: step 0.2 from 2.6 to 3.4
  EXPECT_DOUBLE_EQ(ticks.step, 0.2);
  EXPECT_LT(ticks.values.front(), 3);
  EXPECT_GT(ticks.values.back(), 3);
  EXPECT_EQ(nice_ticks(0, 0, 3).values, (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(nice_ticks(-20, -20, 3).values, (std::vector<double>{-22, -20, -18}));  // -22..-18 by 2
}

TEST(Ticks, Labels) {
  EXPECT_EQ(format_tick(0.30000000000000004, 1), "0.3");
  EXPECT_EQ(format_tick(-1e-17, 1), "0.0");  // the zero tick of a range that starts below 0
  EXPECT_EQ(format_tick(-5, 0), "-5");
  EXPECT_EQ(format_tick(1250, 0), "1250");
  EXPECT_EQ(format_tick(2.5e7, 0), "2.5e+07");
  EXPECT_EQ(format_tick(3e-8, 8), "3e-08");
}

}  // namespace
}  // namespace moe::plot
