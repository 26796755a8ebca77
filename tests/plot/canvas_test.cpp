// Canvas: a PNG that cairo reads back at the asked size with a white background, text in its colour
// and widths that grow with the text, and the errors of an impossible size or path.
#include "plot/canvas.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "png_pixels.h"

namespace moe::plot {
namespace {

TEST(Canvas, WritesAWhitePngOfItsSize) {
  const Canvas canvas(120, 50);
  const PngPixels png(canvas, "white.png");
  EXPECT_EQ(png.width(), 120);
  EXPECT_EQ(png.height(), 50);
  EXPECT_EQ(png.count({255, 255, 255}, 0, 0, 119, 49), 120 * 50);
}

TEST(Canvas, DrawsTextInItsColour) {
  const Canvas canvas(120, 30);
  // A bold "H" at 20 pixels: stems 2+ pixels wide, so some pixels are fully covered.
  canvas.text(10, 22, "HH", {200, 30, 40}, {20, true});
  const PngPixels png(canvas, "text.png");
  EXPECT_GT(png.count({200, 30, 40}, 10, 5, 50, 22), 20);
  EXPECT_EQ(png.count({200, 30, 40}, 60, 0, 119, 29), 0);  // nothing right of the text
  EXPECT_EQ(png.at(0, 0), (Rgb{255, 255, 255}));
  EXPECT_GT(canvas.text_width("HH"), canvas.text_width("H"));
  EXPECT_GT(canvas.text_width("H", {20, false}), canvas.text_width("H", {10, false}));
  EXPECT_EQ(canvas.text_width(""), 0);
}

TEST(Canvas, RightAlignedTextEndsAtX) {
  const Canvas canvas(120, 30);
  canvas.text(60, 22, "HH", {0, 0, 0}, {20, true}, 1);
  const PngPixels png(canvas, "right.png");
  EXPECT_GT(png.count({0, 0, 0}, 20, 5, 60, 22), 20);
  EXPECT_EQ(png.count({0, 0, 0}, 62, 0, 119, 29), 0);
}

TEST(Canvas, ErrorsNameTheProblem) {
  EXPECT_THROW(Canvas(40000, 10), UsageError);  // cairo's limit is 32767 pixels a side
  const Canvas canvas(10, 10);
  const std::string path = test_path("missing_dir/x.png");
  try {
    canvas.write_png(path);
    FAIL() << "no error";
  } catch (const IoError& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace moe::plot
