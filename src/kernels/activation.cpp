// SwiGLU in place over the gate buffer, with the vectorised sigmoid (kernels/sigmoid: the same
// bits on every level) as training's SwiGLU uses: silu(g) u = g sigmoid(g) u. A libm expf per
// element was ~6 % of a prefill.
#include "kernels/activation.h"

#include <algorithm>

#include "kernels/sigmoid/sigmoid.h"

namespace moe::kernels {

void swiglu(float* gate, const float* up, int64_t n) {
  constexpr int64_t kChunk = 1024;
  float s[kChunk];
  for (int64_t first = 0; first < n; first += kChunk) {
    const int64_t m = std::min(kChunk, n - first);
    sigmoid(gate + first, s, m);
    for (int64_t i = 0; i < m; ++i) gate[first + i] = gate[first + i] * s[i] * up[first + i];
  }
}

}  // namespace moe::kernels
