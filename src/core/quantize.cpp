// Reference row codecs for f32, f16, bf16, q8_0 and q4_0.
#include "core/quantize.h"

#include <cmath>
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace moe {

void dequantize_row(DType dtype, const std::byte* src, float* dst, int64_t n) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16: {
      const auto* h = reinterpret_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    }
    case DType::kBF16: {
      const auto* h = reinterpret_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    case DType::kQ8_0: {
      const auto* blocks = reinterpret_cast<const BlockQ8_0*>(src);
      for (int64_t b = 0; b < n / kQBlock; ++b) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < kQBlock; ++j) dst[b * kQBlock + j] = d * blocks[b].qs[j];
      }
      return;
    }
    case DType::kQ4_0: {
      const auto* blocks = reinterpret_cast<const BlockQ4_0*>(src);
      for (int64_t b = 0; b < n / kQBlock; ++b) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < kQBlock / 2; ++j) {
          dst[b * kQBlock + j] = d * ((blocks[b].qs[j] & 0x0f) - 8);
          dst[b * kQBlock + j + 16] = d * ((blocks[b].qs[j] >> 4) - 8);
        }
      }
      return;
    }
  }
  MOE_ASSERT(false);
}

void quantize_row(DType dtype, const float* src, std::byte* dst, int64_t n) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16: {
      auto* h = reinterpret_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::kBF16: {
      auto* h = reinterpret_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::kQ8_0: {
      auto* blocks = reinterpret_cast<BlockQ8_0*>(dst);
      for (int64_t b = 0; b < n / kQBlock; ++b) {
        const float* x = src + b * kQBlock;
        float amax = 0.0f;
        for (int j = 0; j < kQBlock; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float inv = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        for (int j = 0; j < kQBlock; ++j) blocks[b].qs[j] = static_cast<int8_t>(std::round(x[j] * inv));
      }
      return;
    }
    case DType::kQ4_0: {
      auto* blocks = reinterpret_cast<BlockQ4_0*>(dst);
      for (int64_t b = 0; b < n / kQBlock; ++b) {
        const float* x = src + b * kQBlock;
        float amax = 0.0f, max = 0.0f;  // the signed value of largest magnitude maps to -8
        for (int j = 0; j < kQBlock; ++j)
          if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
          }
        const float d = max / -8.0f;
        const float inv = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        for (int j = 0; j < kQBlock / 2; ++j) {
          const int lo = std::min(15, static_cast<int>(x[j] * inv + 8.5f));
          const int hi = std::min(15, static_cast<int>(x[j + 16] * inv + 8.5f));
          blocks[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
      }
      return;
    }
  }
  MOE_ASSERT(false);
}

}  // namespace moe
