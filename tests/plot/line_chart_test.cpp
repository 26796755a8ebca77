// Line charts, read back from the PNG: a constant lands on the row its value maps to, markers,
// dashes, gaps at non-finite points, clipping to the box, the legend beside it.
#include "plot/line_chart.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "png_pixels.h"

namespace moe::plot {
namespace {

constexpr Rgb kRed{255, 0, 0};
constexpr Rgb kWhite{255, 255, 255};

Chart constant_chart(Series::Style style) {
  Chart chart;
  chart.title = "t";
  chart.series.push_back({"five", kRed, style, {0, 10}, {5, 5}});
  chart.series.push_back({"", {0, 0, 255}, Series::Style::kMarkers, {0, 10}, {0, 10}});  // sets the y range 0..10
  return chart;
}

// Pixels of colour c inside the box.
int64_t count_in(const PngPixels& png, const Rect& box, Rgb c) {
  return png.count(c, box.x, box.y, box.x + box.width - 1, box.y + box.height - 1);
}

TEST(LineChart, AConstantLandsOnItsRow) {
  const Canvas canvas(400, 300);
  const Axes axes = draw_chart(canvas, {0, 0, 400, 300}, constant_chart(Series::Style::kLine));
  const PngPixels png(canvas, "constant.png");
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
  // The row is pure red from x = 0 to x = 10, and no other pixel of the box is (the anti-aliased
  // edges above and below are blends).
  EXPECT_EQ(png.count(kRed, box.x, row, box.x + box.width - 1, row), box.width);
  EXPECT_EQ(count_in(png, box, kRed), box.width);
  EXPECT_NE(png.at(box.x + box.width / 2, row - 3), kRed);
  // The frame is drawn just outside the box; the legend's red sample lies right of it.
  EXPECT_NE(png.at(box.x - 1, row), kWhite);
  EXPECT_GT(png.count(kRed, box.x + box.width + 1, 0, png.width() - 1, png.height() - 1), 0);
  EXPECT_EQ(png.at(0, 0), kWhite);
  EXPECT_EQ(png.at(png.width() - 1, png.height() - 1), kWhite);
}

TEST(LineChart, MarkersAreDiscsAroundTheirPoint) {
  const Canvas canvas(400, 300);
  Chart chart = constant_chart(Series::Style::kLine);
  chart.series[0] = {"", kRed, Series::Style::kMarkers, {5}, {5}};
  const Axes axes = draw_chart(canvas, {0, 0, 400, 300}, chart);
  const PngPixels png(canvas, "marker.png");
  const int64_t x = axes.column(5), y = axes.row(5);
  EXPECT_EQ(png.at(x, y), kRed);
  EXPECT_EQ(png.count(kRed, x - 1, y - 1, x + 1, y + 1), 9);  // a disc of radius 3 covers its 3x3 core
  EXPECT_EQ(count_in(png, axes.box, kRed), png.count(kRed, x - 3, y - 3, x + 3, y + 3));
  EXPECT_EQ(png.at(x + 4, y), kWhite);
}

TEST(LineChart, DashesAreFiveOnFourOff) {
  const Canvas canvas(400, 300);
  const Axes axes = draw_chart(canvas, {0, 0, 400, 300}, constant_chart(Series::Style::kDashed));
  const PngPixels png(canvas, "dashed.png");
  const int64_t row = axes.row(5), x0 = axes.box.x;
  // A dash from the first pixel's centre covers pixels 1..4 whole and 0 and 5 by half.
  EXPECT_EQ(png.at(x0 + 4, row), kRed);
  EXPECT_NE(png.at(x0 + 5, row), kRed);
  for (int64_t period = 0; x0 + 9 * period + 9 < axes.box.x + axes.box.width; ++period) {
    const int64_t start = x0 + 9 * period;
    EXPECT_EQ(png.count(kRed, start + 1, row, start + 4, row), 4) << "period " << period;
    EXPECT_EQ(png.count(kRed, start + 6, row, start + 8, row), 0) << "period " << period;
  }
}

TEST(LineChart, NonFinitePointsLeaveAGap) {
  const Canvas canvas(400, 300);
  Chart chart = constant_chart(Series::Style::kLine);
  chart.series[0] = {"", kRed, Series::Style::kLine, {0, 4, 6, 10}, {5, 5, NAN, 5}};
  const Axes axes = draw_chart(canvas, {0, 0, 400, 300}, chart);
  const PngPixels png(canvas, "gap.png");
  // 0..4 drawn, 4..6 and 6..10 not; a point after a gap starts a new line, here a lone dot at 10.
  EXPECT_EQ(count_in(png, axes.box, kRed), axes.column(4) - axes.column(0) + 1 + 1);
  EXPECT_EQ(png.at(axes.column(10), axes.row(5)), kRed);
  EXPECT_EQ(png.at(axes.column(7), axes.row(5)), kWhite);
}

TEST(LineChart, LinesAreClippedToTheBox) {
  const Canvas canvas(400, 300);
  Chart chart = constant_chart(Series::Style::kLine);
  chart.series[0] = {"", kRed, Series::Style::kLine, {0, 10}, {5, 5}};
  chart.series[1].x = {0, 5}, chart.series[1].y = {0, 10};  // x range 0..5: the line runs past the box
  const Axes axes = draw_chart(canvas, {0, 0, 400, 300}, chart);
  const PngPixels png(canvas, "clipped.png");
  const Rect& box = axes.box;
  EXPECT_EQ(count_in(png, box, kRed), box.width);
  EXPECT_EQ(png.count(kRed, box.x + box.width, 0, png.width() - 1, png.height() - 1), 0);
}

TEST(LineChart, TooSmallAreaIsAnError) {
  const Canvas canvas(100, 100);
  EXPECT_THROW(draw_chart(canvas, {0, 0, 100, 100}, constant_chart(Series::Style::kLine)), UsageError);
}

}  // namespace
}  // namespace moe::plot
