// Cells are pixel-aligned rectangles (exact colours); labels every k-th expert, k the smallest of
// 1, 2, 5, 10, 20, ... at which the numbers do not touch.
#include "plot/heatmap.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace moe::plot {

namespace {

constexpr Rgb kTextColor{40, 40, 40};
constexpr Font kTitleFont{12, true};
constexpr Font kLabelFont{10, false};
constexpr Rgb kGridColor{215, 215, 215};  // between cells, so that empty (white) cells stay visible
constexpr int64_t kMargin = 8;            // right and below the grid, left of the title

int64_t label_every(const Canvas& canvas, int64_t n_cols) {
  const double widest = canvas.text_width(std::to_string(n_cols - 1), kLabelFont) + 4;
  for (int64_t decade = 1;; decade *= 10)
    for (int64_t multiple : {1, 2, 5})
      if (static_cast<double>(multiple * decade * kHeatmapCell) >= widest) return multiple * decade;
}

// White (no load) to dark red (the largest load).
Rgb heat_color(double fraction) {
  return {static_cast<uint8_t>(255 - 100 * fraction), static_cast<uint8_t>(255 * (1 - fraction)),
          static_cast<uint8_t>(255 * (1 - fraction))};
}

}  // namespace

Canvas draw_heatmap(const Heatmap& map) {
  MOE_ASSERT(map.n_rows > 0 && map.n_cols > 0 && static_cast<int64_t>(map.values.size()) == map.n_rows * map.n_cols);
  const double max = *std::max_element(map.values.begin(), map.values.end());
  const int64_t grid_width = map.n_cols * kHeatmapCell, grid_height = map.n_rows * kHeatmapCell;
  const double title_width = Canvas(1, 1).text_width(map.title, kTitleFont);
  Canvas canvas(std::max(kHeatmapLeft + grid_width, kMargin + static_cast<int64_t>(std::ceil(title_width))) + kMargin,
                kHeatmapTop + grid_height + kMargin);
  canvas.text(kMargin, 18, map.title, kTextColor, kTitleFont);
  canvas.set_color(kGridColor);
  cairo_rectangle(canvas.cr(), kHeatmapLeft, kHeatmapTop, static_cast<double>(grid_width + 1),
                  static_cast<double>(grid_height + 1));
  cairo_fill(canvas.cr());
  const int64_t every = label_every(canvas, map.n_cols);
  for (int64_t col = 0; col < map.n_cols; col += every)
    canvas.text(static_cast<double>(kHeatmapLeft + col * kHeatmapCell) + kHeatmapCell / 2.0 + 0.5, kHeatmapTop - 5,
                std::to_string(col), kTextColor, kLabelFont, 0.5);
  for (int64_t row = 0; row < map.n_rows; ++row) {
    const double top = static_cast<double>(kHeatmapTop + row * kHeatmapCell);
    canvas.text(kHeatmapLeft - 5, top + kHeatmapCell / 2.0 + 4.5, std::to_string(row), kTextColor, kLabelFont, 1);
    for (int64_t col = 0; col < map.n_cols; ++col) {
      canvas.set_color(heat_color(max > 0 ? map.values[row * map.n_cols + col] / max : 0.0));
      cairo_rectangle(canvas.cr(), static_cast<double>(kHeatmapLeft + col * kHeatmapCell + 1), top + 1,
                      kHeatmapCell - 1, kHeatmapCell - 1);
      cairo_fill(canvas.cr());
    }
  }
  return canvas;
}

}  // namespace moe::plot
