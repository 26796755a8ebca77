// Test helper: a PNG read back with cairo (not with our writer's code) and its pixels as Rgb.
#pragma once

#include <cairo.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "plot/canvas.h"

namespace moe::plot {

inline std::string test_path(const std::string& name) {
  std::filesystem::create_directories(MOE_TEST_TMP);
  return (std::filesystem::path(MOE_TEST_TMP) / name).string();
}

class PngPixels {
 public:
  explicit PngPixels(const std::string& path)
      : surface_(cairo_image_surface_create_from_png(path.c_str()), &cairo_surface_destroy) {
    EXPECT_EQ(cairo_surface_status(surface_.get()), CAIRO_STATUS_SUCCESS) << path;
  }
  // Writes the canvas to `name` in the test directory and reads it back.
  PngPixels(const Canvas& canvas, const std::string& name) : PngPixels(write(canvas, name)) {}

  int64_t width() const { return cairo_image_surface_get_width(surface_.get()); }
  int64_t height() const { return cairo_image_surface_get_height(surface_.get()); }
  Rgb at(int64_t x, int64_t y) const {  // cairo's RGB24/ARGB32: one native-endian 0xAARRGGBB word
    const unsigned char* row =
        cairo_image_surface_get_data(surface_.get()) + y * cairo_image_surface_get_stride(surface_.get());
    const uint32_t pixel = reinterpret_cast<const uint32_t*>(row)[x];
    return {static_cast<uint8_t>(pixel >> 16), static_cast<uint8_t>(pixel >> 8), static_cast<uint8_t>(pixel)};
  }
  // Pixels of colour c in the x0..x1, y0..y1 rectangle (inclusive).
  int64_t count(Rgb c, int64_t x0, int64_t y0, int64_t x1, int64_t y1) const {
    int64_t n = 0;
    for (int64_t y = y0; y <= y1; ++y)
      for (int64_t x = x0; x <= x1; ++x) n += at(x, y) == c;
    return n;
  }

 private:
  static std::string write(const Canvas& canvas, const std::string& name) {
    const std::string path = test_path(name);
    canvas.write_png(path);
    return path;
  }
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface_;
};

}  // namespace moe::plot
