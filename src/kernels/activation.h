// Activations of the gated FFN (SwiGLU) and the shared-expert gate.
#pragma once

#include <cmath>
#include <cstdint>

namespace moe::kernels {

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// gate[i] = silu(gate[i]) * up[i], i < n.
void swiglu(float* gate, const float* up, int64_t n);

}  // namespace moe::kernels
