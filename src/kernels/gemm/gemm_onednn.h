// oneDNN's f32 GEMM (dnnl_sgemm), where the library is installed: Debian's libdnnl2, loaded at
// run time (dlopen), so it is neither a build nor a run dependency. On the MoE layer's expert
// shapes it is 8-25 % faster per core than kernels::gemm's own blocked GEMM
// (bench/gemm_libraries.cpp, docs/PERFORMANCE.md), so the f32 training GEMMs use it when present
// and MOE_GEMM is not "moe". It gives up gemm.h's bit-exactness across ISA levels and thread
// counts (results agree to ~1e-6 of the scale); a run is still deterministic for a given layout
// and thread count.
// oneDNN runs its own OpenMP threads: each call uses as many as the caller's pool has (1 without
// a pool), and OMP_WAIT_POLICY defaults to passive (set before the library loads; the user's
// setting wins), so that idle OpenMP threads do not spin against the pool's threads.
#pragma once

#include "kernels/gemm/gemm.h"

namespace moe::kernels {

// True when libdnnl.so.2 loaded and MOE_GEMM is not "moe" (checked once).
bool onednn_gemm_available();
// C (+)= op(A) op(B) as GemmArgs says (f32 only; m, n, k >= 1, checked by the caller).
void gemm_f32_onednn(const GemmArgs& args, ThreadPool* pool);

}  // namespace moe::kernels
