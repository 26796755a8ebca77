// Scalar exp_rows (the reference and every level's tail) and the level dispatch.
#include "kernels/exp_rows/exp_rows.h"

#include "kernels/exp_approx.h"
#include "kernels/exp_rows/exp_rows_kernels.h"

namespace moe::kernels {
namespace {

void exp_rows_ref(const float* x, float scale, float shift, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float t = x[i] * scale;  // rounded: this file's ISA (x86-64's base) has no fma to fuse into
    out[i] = exp_approx(t - shift);
  }
}

void run(IsaLevel level, const float* x, float scale, float shift, float* out, int64_t n) {
  int64_t whole = 0;
  if (level == IsaLevel::kAvx512) {
    whole = n / 16 * 16;
    exp_rows_avx512(x, scale, shift, out, whole);
  } else if (level == IsaLevel::kAvx2) {
    whole = n / 8 * 8;
    exp_rows_avx2(x, scale, shift, out, whole);
  }
  exp_rows_ref(x + whole, scale, shift, out + whole, n - whole);
}

}  // namespace

void exp_rows(const float* x, float scale, float shift, float* out, int64_t n) {
  static const IsaLevel level = isa_level();
  run(level, x, scale, shift, out, n);
}

void exp_rows_with_level(IsaLevel level, const float* x, float scale, float shift, float* out, int64_t n) {
  require_isa_level(level, cpu_features(), "exp_rows_with_level");
  run(level, x, scale, shift, out, n);
}

}  // namespace moe::kernels
