// e4m3fn and int8 scalar codecs (portable: the reference for every kernel and file writer).
#include "core/fp8.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace moe {

float e4m3_to_f32(uint8_t code) {
  const int exponent = (code >> 3) & 0x0f, mantissa = code & 0x07;
  const float sign = (code & 0x80) != 0 ? -1.0f : 1.0f;
  if (exponent == 0x0f && mantissa == 0x07) return std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -9);
  return sign * std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);
}

uint8_t f32_to_e4m3(float value) {
  if (std::isnan(value)) return 0x7f;
  const uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  const float magnitude = std::fabs(value);
  if (magnitude >= kE4m3Max) return sign | 0x7e;
  if (magnitude < 0x1p-6f)  // subnormal range: multiples of 2^-9, exact scaling then rint (ties even)
    return sign | static_cast<uint8_t>(std::nearbyint(magnitude * 512.0f));
  // Normal: round the f32 mantissa to 3 bits, ties to even, in the bit pattern; a carry bumps the
  // exponent, and a result above 448 (from 464 on, which rounds to 480) was excluded above.
  uint32_t bits = std::bit_cast<uint32_t>(magnitude);
  bits += 0x7ffff + ((bits >> 20) & 1);
  const uint32_t code = (bits >> 20) - ((127u - 7u) << 3);
  return sign | static_cast<uint8_t>(std::min<uint32_t>(code, 0x7e));
}

int8_t f32_to_int8(float value, float scale) {
  if (scale == 0.0f) return 0;
  return static_cast<int8_t>(std::clamp(std::nearbyint(value / scale), -127.0f, 127.0f));
}

}  // namespace moe
