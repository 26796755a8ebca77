// Line charts: the tick algorithm on hand-worked ranges, tick labels, and pixel facts of drawn
// series (a constant lands on the row its value maps to, markers, dashes, clipping to the box).
#include "runtime/line_chart.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace moe::runtime {
namespace {

constexpr io::Rgb kRed{255, 0, 0};

bool is(const io::RgbImage& image, int64_t x, int64_t y, io::Rgb c) {
  const uint8_t* p = &image.pixels[(y * image.width + x) * 3];
  return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

// Pixels of colour c inside r.
int64_t count(const io::RgbImage& image, const Rect& r, io::Rgb c) {
  int64_t n = 0;
  for (int64_t y = r.y; y < r.y + r.height; ++y)
    for (int64_t x = r.x; x < r.x + r.width; ++x) n += is(image, x, y, c);
  return n;
}

TEST(LineChart, TicksOfZeroToTenAreEvenNumbers) {
  const Ticks ticks = nice_ticks(0, 10, 6);
  EXPECT_EQ(ticks.values, (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(ticks.step, 2);
  EXPECT_EQ(ticks.decimals, 0);
  // With room for 11 ticks the step is 1; with 3 it is 5.
  EXPECT_EQ(nice_ticks(0, 10, 11).values.size(), 11u);
  EXPECT_EQ(nice_ticks(0, 10, 3).values, (std::vector<double>{0, 5, 10}));
}

TEST(LineChart, TicksCoverAnUnroundRange) {
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

TEST(LineChart, OneValueGetsARangeAroundIt) {
  const Ticks ticks = nice_ticks(3, 3, 6);  // widened to 2.7..3.3: step 0.2 from 2.6 to 3.4
  EXPECT_DOUBLE_EQ(ticks.step, 0.2);
  EXPECT_LT(ticks.values.front(), 3);
  EXPECT_GT(ticks.values.back(), 3);
  EXPECT_EQ(nice_ticks(0, 0, 3).values, (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(nice_ticks(-20, -20, 3).values, (std::vector<double>{-22, -20, -18}));  // -22..-18 by 2
}

TEST(LineChart, TickLabels) {
  EXPECT_EQ(format_tick(0.30000000000000004, 1), "0.3");
  EXPECT_EQ(format_tick(-1e-17, 1), "0.0");  // the zero tick of a range that starts below 0
  EXPECT_EQ(format_tick(-5, 0), "-5");
  EXPECT_EQ(format_tick(1250, 0), "1250");
  EXPECT_EQ(format_tick(2.5e7, 0), "2.5e+07");
  EXPECT_EQ(format_tick(3e-8, 8), "3e-08");
}

Chart constant_chart(Series::Style style) {
  Chart chart;
  chart.title = "t";
  chart.series.push_back({"five", kRed, style, {0, 10}, {5, 5}});
  chart.series.push_back({"", {0, 0, 255}, Series::Style::kMarkers, {0, 10}, {0, 10}});  // sets the y range 0..10
  return chart;
}

TEST(LineChart, AConstantLandsOnItsRow) {
  io::RgbImage image(400, 300);
  const Axes axes = draw_chart(image, {0, 0, 400, 300}, constant_chart(Series::Style::kLine));
  EXPECT_EQ(axes.y_min, 0);
  EXPECT_EQ(axes.y_max, 10);
  EXPECT_EQ(axes.x_min, 0);
  EXPECT_EQ(axes.x_max, 10);
  const Rect& box = axes.box;
  // 5 is half way: (height - 1) / 2 rows below the top row.
  const int64_t row = box.y + std::llround((box.height - 1) / 2.0);
  EXPECT_EQ(axes.row(5), row);
  EXPECT_EQ(axes.row(10), box.y);
  EXPECT_EQ(axes.row(0), box.y + box.height - 1);
  EXPECT_EQ(axes.column(0), box.x);
  EXPECT_EQ(axes.column(10), box.x + box.width - 1);
  // Every red pixel of the box is on that row, and the row is red from x = 0 to x = 10.
  EXPECT_EQ(count(image, {box.x, row, box.width, 1}, kRed), box.width);
  EXPECT_EQ(count(image, box, kRed), box.width);
  // The frame is drawn just outside the box; the legend's red sample lies right of it.
  EXPECT_FALSE(is(image, box.x - 1, row, {255, 255, 255}));
  EXPECT_GT(count(image, {box.x + box.width + 1, 0, image.width - box.x - box.width - 1, image.height}, kRed), 0);
}

TEST(LineChart, MarkersAreFiveByFiveSquares) {
  io::RgbImage image(400, 300);
  Chart chart = constant_chart(Series::Style::kLine);
  chart.series[0] = {"", kRed, Series::Style::kMarkers, {5}, {5}};
  const Axes axes = draw_chart(image, {0, 0, 400, 300}, chart);
  EXPECT_EQ(count(image, axes.box, kRed), 25);
  EXPECT_EQ(count(image, {axes.column(5) - 2, axes.row(5) - 2, 5, 5}, kRed), 25);
}

TEST(LineChart, DashesAreFiveOnFourOff) {
  io::RgbImage image(400, 300);
  const Axes axes = draw_chart(image, {0, 0, 400, 300}, constant_chart(Series::Style::kDashed));
  int64_t expected = 0;
  for (int64_t i = 0; i < axes.box.width; ++i) expected += i % 9 < 5;
  EXPECT_EQ(count(image, axes.box, kRed), expected);
  EXPECT_TRUE(is(image, axes.box.x + 4, axes.row(5), kRed));
  EXPECT_FALSE(is(image, axes.box.x + 5, axes.row(5), kRed));
}

TEST(LineChart, NonFinitePointsLeaveAGap) {
  io::RgbImage image(400, 300);
  Chart chart = constant_chart(Series::Style::kLine);
  chart.series[0] = {"", kRed, Series::Style::kLine, {0, 4, 6, 10}, {5, 5, NAN, 5}};
  const Axes axes = draw_chart(image, {0, 0, 400, 300}, chart);
  // 0..4 drawn, 4..6 and 6..10 not; a point after a gap starts a new line, here a lone pixel at 10.
  EXPECT_EQ(count(image, axes.box, kRed), axes.column(4) - axes.column(0) + 1 + 1);
}

TEST(LineChart, TooSmallAreaIsAnError) {
  io::RgbImage image(100, 100);
  EXPECT_THROW(draw_chart(image, {0, 0, 100, 100}, constant_chart(Series::Style::kLine)), UsageError);
}

}  // namespace
}  // namespace moe::runtime
