// Heatmap, read back from the PNG: its size, each cell's colour (hand-worked from white at 0 to
// (155, 0, 0) at the largest value), the grid between cells, and a title that widens the image.
#include "plot/heatmap.h"

#include <gtest/gtest.h>

#include <vector>

#include "png_pixels.h"

namespace moe::plot {
namespace {

Rgb cell_centre(const PngPixels& png, int64_t row, int64_t col) {
  return png.at(kHeatmapLeft + col * kHeatmapCell + kHeatmapCell / 2,
                kHeatmapTop + row * kHeatmapCell + kHeatmapCell / 2);
}

TEST(Heatmap, CellsAreColouredByTheirShareOfTheLargest) {
  const std::vector<double> values = {0, 5, 10, 2.5, 0, 10};  // 2 layers x 3 experts
  const PngPixels png(draw_heatmap({2, 3, values, ""}), "heatmap.png");
  EXPECT_EQ(png.width(), kHeatmapLeft + 3 * 16 + 8);
  EXPECT_EQ(png.height(), kHeatmapTop + 2 * 16 + 8);
  EXPECT_EQ(cell_centre(png, 0, 0), (Rgb{255, 255, 255}));
  EXPECT_EQ(cell_centre(png, 0, 1), (Rgb{205, 127, 127}));  // 255 - 100 / 2, 255 / 2
  EXPECT_EQ(cell_centre(png, 0, 2), (Rgb{155, 0, 0}));
  EXPECT_EQ(cell_centre(png, 1, 0), (Rgb{230, 191, 191}));  // a quarter
  EXPECT_EQ(cell_centre(png, 1, 2), (Rgb{155, 0, 0}));
  // A cell fills 15 x 15 pixels; the line between two cells is the grid's grey.
  const int64_t x = kHeatmapLeft + 2 * kHeatmapCell, y = kHeatmapTop;
  EXPECT_EQ(png.count({155, 0, 0}, x + 1, y + 1, x + 15, y + 15), 15 * 15);
  EXPECT_EQ(png.at(x, y + 8), (Rgb{215, 215, 215}));
  EXPECT_EQ(png.at(png.width() - 1, png.height() - 1), (Rgb{255, 255, 255}));
  // Layer and expert numbers are drawn beside and above the grid.
  EXPECT_LT(png.count({255, 255, 255}, 0, kHeatmapTop, kHeatmapLeft - 1, kHeatmapTop + 15), kHeatmapLeft * 16);
  EXPECT_LT(png.count({255, 255, 255}, kHeatmapLeft, 22, kHeatmapLeft + 15, kHeatmapTop - 1), 16 * (kHeatmapTop - 22));
}

TEST(Heatmap, AllZeroIsWhiteAndATitleWidensTheImage) {
  const std::vector<double> zeros(4, 0.0);
  const PngPixels png(draw_heatmap({1, 4, zeros, "a title much wider than four cells of sixteen pixels"}), "zeros.png");
  EXPECT_GT(png.width(), kHeatmapLeft + 4 * 16 + 8);
  for (int64_t col = 0; col < 4; ++col) EXPECT_EQ(cell_centre(png, 0, col), (Rgb{255, 255, 255}));
  EXPECT_LT(png.count({255, 255, 255}, 0, 0, png.width() - 1, 21), png.width() * 22);  // the title's ink
}

}  // namespace
}  // namespace moe::plot
