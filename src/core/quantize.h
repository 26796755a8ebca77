// Portable conversion of one row between f32 and every DType (the reference for all kernels, and
// the encoder used by `moe quantize` and `moe convert`). Quantizers follow llama.cpp's reference
// (ggml quantize_row_*_ref) so files we write decode the same in both engines. q2_K and q3_K are
// read only: quantize_row does not take them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace moe {

// i8 and f8_e4m3 rows hold codes without their scale (Tensor::scales()): dequantize_row gives the
// codes' values and quantize_row encodes at scale 1; quantize_scaled_row chooses a scale.
void dequantize_row(DType dtype, const std::byte* src, float* dst, int64_t n);
void quantize_row(DType dtype, const float* src, std::byte* dst, int64_t n);
// Codes of src / scale (i8: round half to even, clamp to +-127; f8_e4m3: nearest, saturating).
void quantize_scaled_row(DType dtype, const float* src, float scale, std::byte* dst, int64_t n);
// The symmetric absmax scale that maps `amax` to the dtype's largest code: amax / 127 for i8,
// amax / 448 for f8_e4m3 (0 for an all-zero input, whose codes are then 0).
float absmax_scale(DType dtype, float amax);

}  // namespace moe
