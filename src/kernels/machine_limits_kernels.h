// Internal interface between the machine-limits driver and its per-ISA kernel files. The ISA files
// are built with their own -m flags, so they export only plain functions and constants from here.
#pragma once

#include <cstdint>

namespace moe::kernels {

// Independent FMA chains per kernel: enough to cover the FMA latency (4 cycles) on both FMA ports
// (8 in flight) with margin, and few enough to stay in registers (16 ymm, 32 zmm).
constexpr int kFmaChainsAvx2 = 10;
constexpr int kFmaLanesAvx2 = 8;
constexpr int kFmaChainsAvx512 = 12;
constexpr int kFmaLanesAvx512 = 16;

// Sum of data[0, n): four vector accumulators over consecutive vectors, then the tail, reduced in
// a fixed order into a double. data need not be aligned.
double read_sum_avx2(const float* data, int64_t n);
double read_sum_avx512(const float* data, int64_t n);

// `iterations` steps of acc_j = acc_j * a + b on the kFmaChains* accumulators, accumulator j
// starting at j in every lane; returns the sum over every lane of every accumulator.
double fma_chains_avx2(int64_t iterations, float a, float b);
double fma_chains_avx512(int64_t iterations, float a, float b);

// `iterations` steps of acc_j = dpbusd(acc_j, 1, 1) on kFmaChainsAvx512 int32 accumulators of
// 16 lanes (AVX-512 VNNI: 64 byte products per step and accumulator); returns the sum of every
// lane of every accumulator (4 * iterations * 16 * kFmaChainsAvx512).
double dpbusd_chains_avx512vnni(int64_t iterations);

}  // namespace moe::kernels
