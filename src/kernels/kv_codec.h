// Storage formats of the KV cache: f32, f16, or int8 with one f32 scale per (position, KV head)
// (symmetric absmax, as TensorRT-LLM's int8 KV cache). The cache stores each head's vector in
// kv_head_bytes() bytes; attention decodes one head at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace moe::kernels {

enum class KvDtype { kF32, kF16, kInt8 };

const char* kv_dtype_name(KvDtype dtype);
// "f32", "f16", "int8"; throws UsageError naming `option` otherwise.
KvDtype kv_dtype_from_name(const std::string& name, const std::string& option);
int64_t kv_head_bytes(KvDtype dtype, int64_t head_dim);
void kv_encode(KvDtype dtype, const float* src, std::byte* dst, int64_t head_dim);
void kv_decode(KvDtype dtype, const std::byte* src, float* dst, int64_t head_dim);

}  // namespace moe::kernels
