// SwiGLU in place over the gate buffer.
#include "kernels/activation.h"

namespace moe::kernels {

void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = silu(gate[i]) * up[i];
}

}  // namespace moe::kernels
