// Line charts drawn into an RgbImage for `moe plot`: "nice" axis ticks (multiples of 1, 2 or 5 x
// 10^k), a frame with numbered ticks and grid, line / dashed / marker series, a title and a legend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/bitmap_font.h"
#include "io/png_writer.h"

namespace moe::runtime {

struct Series {
  enum class Style { kLine, kDashed, kMarkers };
  std::string label;  // legend text; empty: not listed in the legend
  io::Rgb color;
  Style style = Style::kLine;
  std::vector<double> x, y;  // same length; non-finite points are skipped (a gap in a line)
};

struct Chart {
  std::string title;
  std::string note;  // an optional second line under the title
  std::string x_label;
  std::vector<Series> series;
  std::optional<double> y_floor;  // a value the y axis must include (0 for shares)
};

struct Rect {
  int64_t x = 0, y = 0, width = 0, height = 0;
};

struct Ticks {
  std::vector<double> values;  // ascending, multiples of step; the first <= lo, the last >= hi
  double step = 0;
  int decimals = 0;  // fraction digits that print every value exactly
};

// At most max_ticks (>= 2) ticks covering [lo, hi] with the smallest nice step. lo == hi is widened
// by 10% each way, or to 0..1 when both are 0.
Ticks nice_ticks(double lo, double hi, int max_ticks);
// `value` with `decimals` fraction digits ("-0.0" printed as "0.0"), or like "2.5e+07" for values of
// a million and more or steps below 1e-6.
std::string format_tick(double value, int decimals);

// The plot box in pixels (the frame is drawn just outside it) and the data range it shows: x_min
// on the box's left column, x_max on its right one, y_max on its top row, y_min on its bottom row.
struct Axes {
  Rect box;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  int64_t column(double x) const;  // rounded to the nearest pixel
  int64_t row(double y) const;
};

// Draws the chart inside `area` of the image (title, axes, series, legend); returns its axes.
Axes draw_chart(io::RgbImage& image, const Rect& area, const Chart& chart);

}  // namespace moe::runtime
