// A 7x12 monochrome bitmap font for ASCII 32..126 (DejaVu Sans Mono, generated into bitmap_font.cpp
// by gen_bitmap_font.py), and drawing text with it into an RgbImage: the labels of the PNG plots.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "io/png_writer.h"

namespace moe::io {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

inline constexpr int64_t kGlyphWidth = 7;    // every glyph's advance: the font is monospace
inline constexpr int64_t kGlyphHeight = 12;  // cap height 8, then 3 rows of descender
inline constexpr int64_t kLineHeight = kGlyphHeight + 1;

// The glyph's rows top to bottom, bit 7 the leftmost pixel; characters outside 32..126 draw as '?'.
std::span<const uint8_t, kGlyphHeight> glyph_rows(char c);

inline int64_t text_width(std::string_view text) { return static_cast<int64_t>(text.size()) * kGlyphWidth; }

// Draws `text` with its top-left corner at (x, y); pixels outside the image are skipped.
void draw_text(RgbImage& image, int64_t x, int64_t y, std::string_view text, Rgb color);

}  // namespace moe::io
