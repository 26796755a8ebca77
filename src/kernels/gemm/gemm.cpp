// GEMM driver: checks the arguments, handles the empty cases and runs the kernels of the chosen
// level and mode (whose tiling and threads do not change the bits: gemm.h), or oneDNN's sgemm for
// gemm_f32's f32 mode where it is installed (gemm_onednn.h).
#include "kernels/gemm/gemm.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/gemm/gemm_kernels.h"
#include "kernels/gemm/gemm_onednn.h"

namespace moe::kernels {
namespace {

bool bf16_native(IsaLevel level) { return level == IsaLevel::kAvx512 && cpu_features().avx512_bf16; }

GemmFn gemm_fn(IsaLevel level, bool bf16) {
  if (bf16) return bf16_native(level) ? gemm_bf16_avx512 : gemm_bf16_ref;
  switch (level) {
    case IsaLevel::kRef:
      return gemm_f32_ref;
    case IsaLevel::kAvx2:
      return gemm_f32_avx2;
    case IsaLevel::kAvx512:
      return gemm_f32_avx512;
  }
  MOE_ASSERT(false);
  return nullptr;
}

void run(GemmFn fn, const GemmArgs& g, ThreadPool* pool) {
  MOE_CHECK(g.m >= 0 && g.n >= 0 && g.k >= 0, Error, "gemm: negative shape m ", g.m, " n ", g.n, " k ", g.k);
  if (g.m == 0 || g.n == 0) return;
  MOE_CHECK(g.c != nullptr && g.ldc >= g.n, Error, "gemm: ldc = ", g.ldc, " < n = ", g.n);
  if (g.k == 0) {
    if (!g.accumulate)
      for (int64_t i = 0; i < g.m; ++i) std::fill(g.c + i * g.ldc, g.c + i * g.ldc + g.n, 0.0f);
    return;
  }
  MOE_CHECK(g.a != nullptr && g.b != nullptr, Error, "gemm: null A or B");
  MOE_CHECK(g.lda >= (g.layout == GemmLayout::kTN ? g.m : g.k), Error, "gemm: lda = ", g.lda, " too small");
  MOE_CHECK(g.ldb >= (g.layout == GemmLayout::kNT ? g.k : g.n), Error, "gemm: ldb = ", g.ldb, " too small");
  fn(g, pool);
}

}  // namespace

bool gemm_bf16_native() { return bf16_native(isa_level()); }

void gemm_f32(const GemmArgs& args, ThreadPool* pool) {
  static const GemmFn f32 = onednn_gemm_available() ? gemm_f32_onednn : gemm_fn(isa_level(), false),
                      bf16 = gemm_fn(isa_level(), true);
  run(args.bf16 ? bf16 : f32, args, pool);
}

void gemm_f32_with_level(IsaLevel level, const GemmArgs& args, ThreadPool* pool) {
  require_isa_level(level, cpu_features(), "gemm_f32_with_level");
  run(gemm_fn(level, args.bf16), args, pool);
}

}  // namespace moe::kernels
