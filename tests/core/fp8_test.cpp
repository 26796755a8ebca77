// e4m3fn codec over all 256 codes against values derived by hand from the format's definition,
// round to nearest even at every tie, saturation and NaN; the int8 codec and the scaled row
// codecs (per-channel int8 scales round trip).
#include "core/fp8.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/quantize.h"

namespace moe {
namespace {

// Code -> value from the definition: sign s, exponent e (4 bits, bias 7), mantissa m (3 bits);
// e = 0: (-1)^s m 2^-9; else (-1)^s (8 + m) 2^(e - 10); e = 15 and m = 7: NaN.
double by_hand(int code) {
  const int s = code >> 7, e = (code >> 3) & 15, m = code & 7;
  if (e == 15 && m == 7) return std::numeric_limits<double>::quiet_NaN();
  const double magnitude = e == 0 ? m / 512.0 : (8 + m) * std::pow(2.0, e - 10);
  return s ? -magnitude : magnitude;
}

TEST(E4m3, DecodesEveryCode) {
  for (int code = 0; code < 256; ++code) {
    const float value = e4m3_to_f32(static_cast<uint8_t>(code));
    if (std::isnan(by_hand(code))) {
      EXPECT_TRUE(std::isnan(value)) << code;
    } else {
      EXPECT_EQ(value, by_hand(code)) << code;
      EXPECT_EQ(std::signbit(value), code >= 128) << code;
    }
  }
  // Landmarks: the largest finite, the smallest normal and subnormal, 1, -2.
  EXPECT_EQ(e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0x08), 0x1p-6f);
  EXPECT_EQ(e4m3_to_f32(0x01), 0x1p-9f);
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_f32(0xc0), -2.0f);
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7f)));
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0xff)));
}

TEST(E4m3, EncodesEveryValueToItsCode) {
  for (int code = 0; code < 256; ++code) {
    if ((code & 0x7f) == 0x7f) continue;
    EXPECT_EQ(f32_to_e4m3(static_cast<float>(by_hand(code))), code) << code;
  }
}

// Halfway between neighbouring codes k and k + 1 (same sign) the even code wins; just off the
// midpoint the nearer one does. The midpoints are exact in f32.
TEST(E4m3, RoundsToNearestEvenAtTies) {
  for (int code = 0; code < 0x7e; ++code) {
    const double low = by_hand(code), high = by_hand(code + 1);
    const auto mid = static_cast<float>((low + high) / 2);
    ASSERT_EQ(mid, (low + high) / 2);
    const int even = code % 2 == 0 ? code : code + 1;
    EXPECT_EQ(f32_to_e4m3(mid), even) << "between " << low << " and " << high;
    EXPECT_EQ(f32_to_e4m3(-mid), even | 0x80) << "between " << -low << " and " << -high;
    EXPECT_EQ(f32_to_e4m3(std::nextafter(mid, 0.0f)), code) << low;
    EXPECT_EQ(f32_to_e4m3(std::nextafter(mid, 1e9f)), code + 1) << high;
  }
  EXPECT_EQ(f32_to_e4m3(0x1p-10f), 0x00);      // half the smallest subnormal: ties to 0
  EXPECT_EQ(f32_to_e4m3(3 * 0x1p-10f), 0x02);  // between 1 and 2 (x 2^-9): to 2
  EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);       // between 1 and 1.125: to 1 (mantissa 0)
  EXPECT_EQ(f32_to_e4m3(1.1875f), 0x3a);       // between 1.125 and 1.25: to 1.25
}

TEST(E4m3, SaturatesAndKeepsNan) {
  EXPECT_EQ(f32_to_e4m3(448.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(460.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(1e30f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(-1e30f), 0xfe);
  EXPECT_EQ(f32_to_e4m3(std::numeric_limits<float>::infinity()), 0x7e);
  EXPECT_EQ(f32_to_e4m3(-std::numeric_limits<float>::infinity()), 0xfe);
  EXPECT_EQ(f32_to_e4m3(std::numeric_limits<float>::quiet_NaN()), 0x7f);
  EXPECT_EQ(f32_to_e4m3(-0.0f), 0x80);
  EXPECT_EQ(f32_to_e4m3(1e-30f), 0x00);
}

TEST(Int8Codec, RoundsHalfToEvenAndClamps) {
  EXPECT_EQ(f32_to_int8(2.5f, 1.0f), 2);
  EXPECT_EQ(f32_to_int8(-3.5f, 1.0f), -4);
  EXPECT_EQ(f32_to_int8(0.5f, 1.0f), 0);
  EXPECT_EQ(f32_to_int8(127.4f, 1.0f), 127);
  EXPECT_EQ(f32_to_int8(-300.0f, 1.0f), -127);
  EXPECT_EQ(f32_to_int8(6.0f, 2.0f), 3);
  EXPECT_EQ(f32_to_int8(5.0f, 0.0f), 0);
}

// Per-channel int8: scale = amax / 127, the amax element maps to +-127, every value comes back
// within half a step; an all-zero row gets scale 0 and codes 0.
TEST(ScaledRow, Int8PerChannelRoundTrip) {
  const std::vector<std::vector<float>> rows = {
      {127.0f, 2.5f, -3.5f, 0.5f}, {-0.3f, 0.1f, 0.2f, 0.05f}, {0.0f, 0.0f, 0.0f, 0.0f}};
  const std::vector<std::vector<int8_t>> codes = {{127, 2, -4, 0}, {-127, 42, 85, 21}, {0, 0, 0, 0}};
  for (size_t r = 0; r < rows.size(); ++r) {
    float amax = 0.0f;
    for (float v : rows[r]) amax = std::max(amax, std::fabs(v));
    const float scale = absmax_scale(DType::kI8, amax);
    EXPECT_EQ(scale, amax / 127.0f);
    std::vector<std::byte> bytes(4);
    quantize_scaled_row(DType::kI8, rows[r].data(), scale, bytes.data(), 4);
    std::vector<float> back(4);
    dequantize_row(DType::kI8, bytes.data(), back.data(), 4);
    for (int c = 0; c < 4; ++c) {
      EXPECT_EQ(static_cast<int8_t>(bytes[c]), codes[r][c]) << r << " " << c;
      EXPECT_LE(std::fabs(back[c] * scale - rows[r][c]), scale / 2 * 1.0001f) << r << " " << c;
    }
  }
}

TEST(ScaledRow, Fp8ScaleMapsAmaxTo448) {
  const std::vector<float> row = {-0.7f, 0.35f, 0.0f, 0.001f};
  const float scale = absmax_scale(DType::kF8_E4M3, 0.7f);
  EXPECT_EQ(scale, 0.7f / 448.0f);
  std::vector<std::byte> bytes(4);
  quantize_scaled_row(DType::kF8_E4M3, row.data(), scale, bytes.data(), 4);
  EXPECT_EQ(bytes[0], std::byte{0xfe});  // -448
  EXPECT_EQ(bytes[1], std::byte{0x76});  // 224 = 0.35 / scale
  EXPECT_EQ(bytes[2], std::byte{0x00});
  EXPECT_EQ(static_cast<uint8_t>(bytes[3]), f32_to_e4m3(0.001f / scale));
}

}  // namespace
}  // namespace moe
