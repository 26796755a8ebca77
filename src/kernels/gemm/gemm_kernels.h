// Internal interface between the GEMM driver (argument checks, level choice) and its per-ISA
// files: each computes a whole checked GEMM with m, n, k >= 1.
#pragma once

#include <cstdint>

#include "kernels/gemm/gemm.h"

namespace moe::kernels {

using GemmFn = void (*)(const GemmArgs& args, ThreadPool* pool);

void gemm_f32_ref(const GemmArgs& args, ThreadPool* pool);  // single-threaded plain loops
void gemm_f32_avx2(const GemmArgs& args, ThreadPool* pool);
void gemm_f32_avx512(const GemmArgs& args, ThreadPool* pool);
// bf16 mode (GemmArgs::bf16): the reference, and AVX-512 BF16 (CPUs with avx512_bf16 only).
void gemm_bf16_ref(const GemmArgs& args, ThreadPool* pool);
void gemm_bf16_avx512(const GemmArgs& args, ThreadPool* pool);

}  // namespace moe::kernels
