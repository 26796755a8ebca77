// Scalar sigmoid (the reference and every level's tail) and the level dispatch.
#include "kernels/sigmoid/sigmoid.h"

#include "kernels/exp_approx.h"
#include "kernels/sigmoid/sigmoid_kernels.h"

namespace moe::kernels {
namespace {

float sigmoid_one(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

void sigmoid_ref(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = sigmoid_one(x[i]);
}

void run(IsaLevel level, const float* x, float* out, int64_t n) {
  int64_t whole = 0;
  if (level == IsaLevel::kAvx512) {
    whole = n / 16 * 16;
    sigmoid_avx512(x, out, whole);
  } else if (level == IsaLevel::kAvx2) {
    whole = n / 8 * 8;
    sigmoid_avx2(x, out, whole);
  }
  sigmoid_ref(x + whole, out + whole, n - whole);
}

}  // namespace

void sigmoid(const float* x, float* out, int64_t n) { run(isa_level(), x, out, n); }

void sigmoid_with_level(IsaLevel level, const float* x, float* out, int64_t n) {
  require_isa_level(level, cpu_features(), "sigmoid_with_level");
  run(level, x, out, n);
}

}  // namespace moe::kernels
