// Limits of this machine that the benchmarks compare against: read bandwidth from memory (a sum
// over a buffer far larger than the caches) and the fp32 FMA peak per ISA level, per thread count.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kernels/cpu_features.h"

namespace moe::kernels {

struct LimitsOptions {
  int64_t buffer_bytes = int64_t{1} << 30;  // read buffer; >= 1 GiB to dwarf every cache level
  int passes = 2;                           // passes over the buffer per timed run
  int repeats = 5;                          // timed runs; the best counts
  int64_t fma_iterations = 40'000'000;      // FMA-chain steps per thread per timed run (~0.1 s)
  int fma_repeats = 3;
};

struct BandwidthLimit {
  int threads = 1;
  IsaLevel level = IsaLevel::kRef;  // of the loads
  double gbps = 0;                  // 1e9 bytes per second
};

struct FmaLimit {
  int threads = 1;
  IsaLevel level = IsaLevel::kAvx2;
  double gflops = 0;  // 1e9 fp32 flops per second, an FMA counting 2
};

// Peak of the int8 dot products the q8_0 / q4_0 kernels use (AVX-512 VNNI dpbusd): 1e9 ops per
// second, a byte product and its addition counting 2, as an FMA does.
struct Int8DotLimit {
  int threads = 1;
  double gops = 0;
};

struct MachineLimits {
  std::vector<BandwidthLimit> bandwidth;
  std::vector<FmaLimit> fma;
  std::optional<double> read_gbps(int threads) const;
  std::optional<double> fma_gflops(IsaLevel level, int threads) const;
};

// The ISA levels with FMA kernels that this CPU has, lowest first (avx2, avx512).
std::vector<IsaLevel> fma_levels();
// The widest loads this CPU has (avx512, avx2, else ref).
IsaLevel best_read_level();

// Sum of `data` with the loads of `level` (ref: a plain loop); throws UsageError if this CPU lacks
// the level.
double read_sum(IsaLevel level, std::span<const float> data);
// Runs the FMA-chain kernel of `level` (avx2 or avx512; UsageError otherwise): `iterations` steps
// of acc_j = acc_j * a + b on independent vector accumulators, accumulator j starting at j in
// every lane. Returns the sum over every lane of every accumulator.
double fma_chains(IsaLevel level, int64_t iterations, float a, float b);
// Accumulators and lanes of that kernel; a run does iterations * chains * lanes FMAs.
int fma_chain_count(IsaLevel level);
int fma_lane_count(IsaLevel level);

// Read bandwidth with `n_threads` threads, each summing its slice of one shared buffer.
BandwidthLimit measure_read_bandwidth(int n_threads, const LimitsOptions& options = {});
// FMA peak of `level` with `n_threads` threads, each running the kernel on its own registers.
FmaLimit measure_fma_peak(IsaLevel level, int n_threads, const LimitsOptions& options = {});
// True when this CPU has the int8 dot products measure_int8_dot_peak times (AVX-512 VNNI).
bool has_int8_dot_peak();
// The int8 dot peak with `n_threads` threads (UsageError without AVX-512 VNNI).
Int8DotLimit measure_int8_dot_peak(int n_threads, const LimitsOptions& options = {});

}  // namespace moe::kernels
