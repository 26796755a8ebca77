// The heatmap of `moe stats --png`: one 16-pixel cell per (layer, expert), white (no load) to dark
// red (the largest load) in a light grey grid, with layer numbers on the left, expert numbers on
// top and a title.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "plot/canvas.h"

namespace moe::plot {

struct Heatmap {
  int64_t n_rows = 0, n_cols = 0;  // layers, experts
  std::span<const double> values;  // n_rows x n_cols, row-major, >= 0
  std::string title;
};

inline constexpr int64_t kHeatmapCell = 16;  // pixels, a 1-pixel grid line included
// Cell (row, col) fills the kHeatmapCell - 1 pixels right and down from
// (kHeatmapLeft + col * kHeatmapCell + 1, kHeatmapTop + row * kHeatmapCell + 1).
inline constexpr int64_t kHeatmapLeft = 36;  // layer numbers
inline constexpr int64_t kHeatmapTop = 40;   // the title, expert numbers

// The image is the grid plus margins, or wider if the title needs it.
Canvas draw_heatmap(const Heatmap& heatmap);

}  // namespace moe::plot
