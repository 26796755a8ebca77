// Portable conversion of one row between f32 and every DType (the reference for all kernels, and
// the encoder used by `moe quantize` and `moe convert`). Quantizers follow llama.cpp's reference
// (ggml quantize_row_*_ref) so files we write decode the same in both engines.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace moe {

void dequantize_row(DType dtype, const std::byte* src, float* dst, int64_t n);
void quantize_row(DType dtype, const float* src, std::byte* dst, int64_t n);

}  // namespace moe
