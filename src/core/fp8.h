// The fp8 e4m3fn format of NVIDIA's Hopper/Ada GPUs, TensorRT-LLM and HF "fp8" checkpoints:
// 1 sign, 4 exponent (bias 7) and 3 mantissa bits; subnormals m * 2^-9; largest finite 448
// (0x7e); no infinities; NaN is 0x7f and 0xff. Also the per-row int8 codec of weight-only int8.
#pragma once

#include <cstdint>

namespace moe {

constexpr float kE4m3Max = 448.0f;

// Exact value of an e4m3 code (NaN for 0x7f / 0xff).
float e4m3_to_f32(uint8_t code);
// Nearest e4m3 value, ties to even mantissa; saturates to +-448 beyond the range (and for
// infinities), as the quantizers clamp before casting; NaN -> 0x7f.
uint8_t f32_to_e4m3(float value);

// Symmetric int8 code of value / scale: round half to even, clamped to [-127, 127]; scale 0 -> 0.
int8_t f32_to_int8(float value, float scale);

}  // namespace moe
