// Text into an RgbImage with the bitmap font: each set bit of a glyph row becomes one pixel.
#include "io/bitmap_font.h"

namespace moe::io {

void draw_text(RgbImage& image, int64_t x, int64_t y, std::string_view text, Rgb color) {
  for (size_t char_idx = 0; char_idx < text.size(); ++char_idx) {
    const std::span<const uint8_t, kGlyphHeight> rows = glyph_rows(text[char_idx]);
    const int64_t left = x + static_cast<int64_t>(char_idx) * kGlyphWidth;
    for (int64_t row = 0; row < kGlyphHeight; ++row)
      for (int64_t col = 0; col < kGlyphWidth; ++col) {
        const int64_t px = left + col, py = y + row;
        if ((rows[row] & (0x80 >> col)) && px >= 0 && py >= 0 && px < image.width && py < image.height)
          image.set(px, py, color.r, color.g, color.b);
      }
  }
}

}  // namespace moe::io
