// Storage formats of the KV cache: f32, f16, or int8 / fp8 (e4m3fn) with one f32 scale per
// (position, KV head) (symmetric absmax: amax / 127, amax / 448; TensorRT-LLM's int8 and fp8 KV
// caches take one calibrated scale per tensor instead, which needs no calibration here). The
// cache stores each head's vector in kv_head_bytes() bytes; attention decodes one head at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace moe::kernels {

enum class KvDtype { kF32, kF16, kInt8, kFp8 };

const char* kv_dtype_name(KvDtype dtype);
// "f32", "f16", "int8", "fp8"; throws UsageError naming `option` otherwise.
KvDtype kv_dtype_from_name(const std::string& name, const std::string& option);
int64_t kv_head_bytes(KvDtype dtype, int64_t head_dim);
void kv_encode(KvDtype dtype, const float* src, std::byte* dst, int64_t head_dim);
void kv_decode(KvDtype dtype, const std::byte* src, float* dst, int64_t head_dim);

}  // namespace moe::kernels
