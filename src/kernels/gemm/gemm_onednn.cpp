// dnnl_sgemm through dlopen: row-major, transposes as 'N'/'T', beta 1 to accumulate.
#include "kernels/gemm/gemm_onednn.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace moe::kernels {
namespace {

using DnnlSgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
using OmpSetNumThreads = void (*)(int);

struct OneDnn {
  DnnlSgemm sgemm = nullptr;
  OmpSetNumThreads set_threads = nullptr;
};

const OneDnn& onednn() {
  static const OneDnn library = [] {
    OneDnn found;
    const char* choice = std::getenv("MOE_GEMM");
    if (choice != nullptr && std::strcmp(choice, "moe") == 0) return found;
    setenv("OMP_WAIT_POLICY", "passive", /*overwrite=*/0);
    void* handle = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return found;
    found.sgemm = reinterpret_cast<DnnlSgemm>(dlsym(handle, "dnnl_sgemm"));
    found.set_threads = reinterpret_cast<OmpSetNumThreads>(dlsym(handle, "omp_set_num_threads"));
    if (found.set_threads == nullptr) found.sgemm = nullptr;  // without it, threads could oversubscribe
    return found;
  }();
  return library;
}

}  // namespace

bool onednn_gemm_available() { return onednn().sgemm != nullptr; }

void gemm_f32_onednn(const GemmArgs& g, ThreadPool* pool) {
  const OneDnn& library = onednn();
  MOE_ASSERT(library.sgemm != nullptr && !g.bf16);
  library.set_threads(pool != nullptr ? pool->n_threads() : 1);
  const int status = library.sgemm(g.layout == GemmLayout::kTN ? 'T' : 'N', g.layout == GemmLayout::kNT ? 'T' : 'N',
                                   g.m, g.n, g.k, 1.0f, g.a, g.lda, g.b, g.ldb, g.accumulate ? 1.0f : 0.0f, g.c, g.ldc);
  MOE_CHECK(status == 0, Error, "gemm: oneDNN's dnnl_sgemm failed with status ", status, " (m ", g.m, ", n ", g.n,
            ", k ", g.k, "); MOE_GEMM=moe uses moe's own GEMM");
}

}  // namespace moe::kernels
