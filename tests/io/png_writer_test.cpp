// PNG encoder: signature, header fields, stored-deflate framing, chunk CRCs.
#include "io/png_writer.h"

#include <gtest/gtest.h>

namespace moe::io {
namespace {

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | b[at + 3];
}

TEST(PngWriter, EncodesAValidSmallImage) {
  RgbImage image(3, 2);
  image.set(0, 0, 255, 0, 0);
  image.set(2, 1, 0, 0, 255);
  const std::vector<uint8_t> png = encode_png(image);
  const std::vector<uint8_t> signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  ASSERT_TRUE(std::equal(signature.begin(), signature.end(), png.begin()));
  EXPECT_EQ(be32(png, 8), 13u);  // IHDR length
  EXPECT_EQ(std::string(png.begin() + 12, png.begin() + 16), "IHDR");
  EXPECT_EQ(be32(png, 16), 3u);  // width
  EXPECT_EQ(be32(png, 20), 2u);  // height
  EXPECT_EQ(png[24], 8);         // bit depth
  EXPECT_EQ(png[25], 2);         // RGB
  // IDAT: zlib header, one final stored block of 2 * (1 + 3 * 3) = 20 bytes, then Adler-32.
  EXPECT_EQ(std::string(png.begin() + 37, png.begin() + 41), "IDAT");
  EXPECT_EQ(be32(png, 33), 2u + 5 + 20 + 4);
  EXPECT_EQ(png[41], 0x78);
  EXPECT_EQ(png[43], 1);                     // BFINAL, stored
  EXPECT_EQ(png[44] | (png[45] << 8), 20);   // LEN
  EXPECT_EQ(png[46] | (png[47] << 8), 0xffeb);  // NLEN
  EXPECT_EQ(png[48], 0);                     // filter byte of row 0
  EXPECT_EQ(png[49], 255);                   // red pixel
  EXPECT_EQ(png[50], 0);
  // IEND is empty; its CRC is the well-known AE 42 60 82.
  EXPECT_EQ(std::string(png.end() - 8, png.end() - 4), "IEND");
  EXPECT_EQ(be32(png, png.size() - 4), 0xae426082u);
}

}  // namespace
}  // namespace moe::io
