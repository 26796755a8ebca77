// Canvas: an opaque RGB image (a cairo image surface and its drawing context, both owned), the text
// calls the charts use (DejaVu Sans through cairo's toy font API and fontconfig), and writing the
// image as a PNG.
#pragma once

#include <cairo.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace moe::plot {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

struct Font {
  double size = 11;  // pixels: cap height 8
  bool bold = false;
};

class Canvas {
 public:
  Canvas(int64_t width, int64_t height);  // white; UsageError for a size cairo cannot hold
  int64_t width() const { return width_; }
  int64_t height() const { return height_; }
  cairo_t* cr() const { return cr_.get(); }  // the drawing context, for the charts of this folder

  void set_color(Rgb color) const;
  double text_width(std::string_view text, Font font = {}) const;
  // Draws `text` on the baseline y; `align` places x at its left (0), centre (0.5) or right end (1).
  void text(double x, double baseline, std::string_view text, Rgb color, Font font = {}, double align = 0) const;

  // Writes the image atomically (never a partial file); IoError naming the path.
  void write_png(const std::string& path) const;

 private:
  int64_t width_, height_;
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface_;
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_;
};

}  // namespace moe::plot
