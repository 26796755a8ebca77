// Bitmap font: glyph shapes (counted pixels of characters with a known form), text placement, the
// '?' fallback and clipping at the image's edges.
#include "io/bitmap_font.h"

#include <gtest/gtest.h>

namespace moe::io {
namespace {

// Non-white pixels of an image, and of one of its columns or rows.
int64_t inked(const RgbImage& image, int64_t x0 = 0, int64_t y0 = 0, int64_t x1 = -1, int64_t y1 = -1) {
  if (x1 < 0) x1 = image.width - 1;
  if (y1 < 0) y1 = image.height - 1;
  int64_t n = 0;
  for (int64_t y = y0; y <= y1; ++y)
    for (int64_t x = x0; x <= x1; ++x) n += image.pixels[(y * image.width + x) * 3] != 255;
  return n;
}

TEST(BitmapFont, CapitalHIsTwoStemsAndABar) {
  RgbImage image(kGlyphWidth, kGlyphHeight);
  draw_text(image, 0, 0, "H", {0, 0, 0});
  // Two stems of the cap height (8 rows) 5 columns apart, joined by one 6-pixel bar: 16 + 4 pixels.
  EXPECT_EQ(inked(image), 20);
  int64_t stems = 0;
  for (int64_t x = 0; x < kGlyphWidth; ++x) stems += inked(image, x, 0, x, kGlyphHeight - 1) == 8;
  EXPECT_EQ(stems, 2);
  EXPECT_EQ(inked(image, 1, 0, 1, kGlyphHeight - 1), 8);
  EXPECT_EQ(inked(image, 6, 0, 6, kGlyphHeight - 1), 8);
}

TEST(BitmapFont, BarAndUnderscoreSpanTheCell) {
  RgbImage bar(kGlyphWidth, kGlyphHeight), underscore(kGlyphWidth, kGlyphHeight), space(kGlyphWidth, kGlyphHeight);
  draw_text(bar, 0, 0, "|", {0, 0, 0});
  draw_text(underscore, 0, 0, "_", {0, 0, 0});
  draw_text(space, 0, 0, " ", {0, 0, 0});
  EXPECT_EQ(inked(bar, 3, 0, 3, kGlyphHeight - 1), 11);  // '|' goes from ascender to descender
  EXPECT_EQ(inked(bar), 11);
  EXPECT_EQ(inked(underscore, 0, kGlyphHeight - 1, kGlyphWidth - 1, kGlyphHeight - 1), 7);  // the whole bottom row
  EXPECT_EQ(inked(underscore), 7);
  EXPECT_EQ(inked(space), 0);
}

TEST(BitmapFont, TextAdvancesByTheGlyphWidthInItsColour) {
  RgbImage image(40, 20);
  draw_text(image, 5, 3, "HH", {10, 20, 30});
  EXPECT_EQ(text_width("HH"), 2 * kGlyphWidth);
  EXPECT_EQ(inked(image, 5, 3, 5 + kGlyphWidth - 1, 3 + kGlyphHeight - 1), 20);
  EXPECT_EQ(inked(image, 5 + kGlyphWidth, 3, 5 + 2 * kGlyphWidth - 1, 3 + kGlyphHeight - 1), 20);
  EXPECT_EQ(inked(image), 40);
  const uint8_t* stem_top = &image.pixels[((3 + 1) * image.width + 5 + 1) * 3];  // H's left stem, row 1
  EXPECT_EQ(stem_top[0], 10);
  EXPECT_EQ(stem_top[1], 20);
  EXPECT_EQ(stem_top[2], 30);
}

TEST(BitmapFont, UnknownCharactersDrawAsQuestionMarks) {
  for (char c : {'\n', '\x7f', static_cast<char>(0xC3)}) {
    const auto rows = glyph_rows(c), question = glyph_rows('?');
    EXPECT_TRUE(std::equal(rows.begin(), rows.end(), question.begin())) << static_cast<int>(c);
  }
}

TEST(BitmapFont, ClipsAtTheImageEdges) {
  RgbImage image(4, 5);
  draw_text(image, -3, -2, "H", {0, 0, 0});  // columns 3..6, rows 2..6 of the glyph remain
  // Right stem (column 6) rows 2..6 and the bar's columns 3..5 on row 4.
  EXPECT_EQ(inked(image), 5 + 3);
  draw_text(image, 100, 100, "H", {0, 0, 0});
  EXPECT_EQ(inked(image), 8);
}

}  // namespace
}  // namespace moe::io
