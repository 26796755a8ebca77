// A minimal PNG encoder (8-bit RGB, zlib "stored" blocks: no compression library needed) for the
// heatmaps and plots the tools write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moe::io {

struct RgbImage {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;  // row-major RGB, 3 bytes per pixel
  RgbImage(int64_t w, int64_t h) : width(w), height(h), pixels(w * h * 3, 255) {}
  void set(int64_t x, int64_t y, uint8_t r, uint8_t g, uint8_t b) {
    uint8_t* p = &pixels[(y * width + x) * 3];
    p[0] = r;
    p[1] = g;
    p[2] = b;
  }
};

// Encoded PNG bytes (exposed for tests).
std::vector<uint8_t> encode_png(const RgbImage& image);
// Writes the PNG atomically; throws IoError naming the path.
void write_png(const std::string& path, const RgbImage& image);

}  // namespace moe::io
