// Activations of the gated FFN (SwiGLU) and the shared-expert gate.
#pragma once

#include <cmath>
#include <cstdint>

namespace moe::kernels {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// gate[i] = gate[i] * sigmoid(gate[i]) * up[i] (silu(gate) up), i < n.
void swiglu(float* gate, const float* up, int64_t n);

}  // namespace moe::kernels
