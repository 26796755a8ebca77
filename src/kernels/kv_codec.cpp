// KV cache codecs.
#include "kernels/kv_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/fp8.h"
#include "core/half.h"

namespace moe::kernels {

const char* kv_dtype_name(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::kF32:
      return "f32";
    case KvDtype::kF16:
      return "f16";
    case KvDtype::kInt8:
      return "int8";
    case KvDtype::kFp8:
      return "fp8";
  }
  return "?";
}

KvDtype kv_dtype_from_name(const std::string& name, const std::string& option) {
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16, KvDtype::kInt8, KvDtype::kFp8})
    if (name == kv_dtype_name(dtype)) return dtype;
  throw UsageError(detail::concat(option, ": unknown KV cache dtype '", name, "' (expected f32, f16, int8 or fp8)"));
}

int64_t kv_head_bytes(KvDtype dtype, int64_t head_dim) {
  switch (dtype) {
    case KvDtype::kF32:
      return head_dim * 4;
    case KvDtype::kF16:
      return head_dim * 2;
    case KvDtype::kInt8:
    case KvDtype::kFp8:
      return 4 + head_dim;  // f32 scale, then the values
  }
  return 0;
}

void kv_encode(KvDtype dtype, const float* src, std::byte* dst, int64_t head_dim) {
  switch (dtype) {
    case KvDtype::kF32:
      std::memcpy(dst, src, head_dim * 4);
      return;
    case KvDtype::kF16:
      for (int64_t i = 0; i < head_dim; ++i) {
        const uint16_t h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case KvDtype::kInt8: {
      float amax = 0.0f;
      for (int64_t i = 0; i < head_dim; ++i) amax = std::max(amax, std::fabs(src[i]));
      const float scale = amax / 127.0f, inverse = scale > 0 ? 1.0f / scale : 0.0f;
      std::memcpy(dst, &scale, 4);
      for (int64_t i = 0; i < head_dim; ++i)
        dst[4 + i] = static_cast<std::byte>(static_cast<int8_t>(std::lround(src[i] * inverse)));
      return;
    }
    case KvDtype::kFp8: {
      float amax = 0.0f;
      for (int64_t i = 0; i < head_dim; ++i) amax = std::max(amax, std::fabs(src[i]));
      const float scale = amax / kE4m3Max;
      std::memcpy(dst, &scale, 4);
      for (int64_t i = 0; i < head_dim; ++i)
        dst[4 + i] = static_cast<std::byte>(scale > 0 ? f32_to_e4m3(src[i] / scale) : 0);
      return;
    }
  }
}

void kv_decode(KvDtype dtype, const std::byte* src, float* dst, int64_t head_dim) {
  switch (dtype) {
    case KvDtype::kF32:
      std::memcpy(dst, src, head_dim * 4);
      return;
    case KvDtype::kF16:
      for (int64_t i = 0; i < head_dim; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
    case KvDtype::kInt8: {
      float scale;
      std::memcpy(&scale, src, 4);
      for (int64_t i = 0; i < head_dim; ++i) dst[i] = scale * static_cast<float>(static_cast<int8_t>(src[4 + i]));
      return;
    }
    case KvDtype::kFp8: {
      float scale;
      std::memcpy(&scale, src, 4);
      for (int64_t i = 0; i < head_dim; ++i) dst[i] = scale * e4m3_to_f32(static_cast<uint8_t>(src[4 + i]));
      return;
    }
  }
}

}  // namespace moe::kernels
