// Rotary position embedding applied in place to the heads of one token's q or k vector.
#pragma once

#include <cstdint>

namespace moe::kernels {

enum class RopeStyle {
  kNeox,         // HF "rotate half": pairs (i, i + d/2); Qwen, OLMoE, HF Mixtral checkpoints
  kInterleaved,  // pairs (2i, 2i + 1); llama.cpp's `llama` arch, whose converter permutes q/k rows
};

// vec: n_heads * head_dim floats (head-major), rotated for `position`.
void rope_apply(float* vec, int64_t n_heads, int64_t head_dim, int64_t position, double theta, RopeStyle style);

}  // namespace moe::kernels
