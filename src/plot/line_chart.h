// Line charts drawn on a Canvas for `moe plot`: a frame with numbered ticks (ticks.h) and grid,
// line / dashed / marker series, a title, a note and a legend beside the plot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plot/canvas.h"

namespace moe::plot {

struct Series {
  enum class Style { kLine, kDashed, kMarkers };
  std::string label;  // legend text; empty: not listed in the legend
  Rgb color;
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

// The plot box in pixels (the frame is drawn just outside it) and the data range it shows: x_min
// on the centre of the box's left column, x_max on its right one, y_max on its top row, y_min on
// its bottom row.
struct Axes {
  Rect box;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double x_at(double x) const;  // canvas coordinates (a pixel's centre is at +0.5)
  double y_at(double y) const;
  int64_t column(double x) const;  // the pixel x_at falls in
  int64_t row(double y) const;
};

// Draws the chart inside `area` of the canvas (title, axes, series, legend); returns its axes.
// UsageError when the area leaves no room for the plot.
Axes draw_chart(const Canvas& canvas, const Rect& area, const Chart& chart);

}  // namespace moe::plot
