// Machine-limit kernels: the read sum equals a plain sum, the FMA chains compute exactly what the
// arithmetic says, and the measurements return positive finite figures (no timing asserts).
#include "kernels/machine_limits.h"

#include <cmath>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"

namespace moe::kernels {
namespace {

std::vector<IsaLevel> read_levels() {
  std::vector<IsaLevel> levels{IsaLevel::kRef};
  for (IsaLevel level : fma_levels()) levels.push_back(level);
  return levels;
}

// Multiples of 1/4 below 4: every partial sum of a few thousand is a float exactly, so the
// kernels' lane order cannot change the result and the comparison is exact.
std::vector<float> quarters(int64_t n) {
  std::vector<float> data(n);
  for (int64_t i = 0; i < n; ++i) data[i] = static_cast<float>((i * 7 + 3) % 16) * 0.25f;
  return data;
}

TEST(MachineLimits, ReadSumEqualsScalarSum) {
  for (int64_t n : {0, 1, 31, 33, 64, 65, 4097}) {
    const std::vector<float> data = quarters(n);
    double expected = 0;
    for (float value : data) expected += value;
    for (IsaLevel level : read_levels())
      EXPECT_EQ(read_sum(level, data), expected) << isa_level_name(level) << " n=" << n;
  }
}

TEST(MachineLimits, ReadSumOfUnalignedSlice) {
  const std::vector<float> data = quarters(1000);
  const std::span<const float> slice = std::span<const float>(data).subspan(3, 900);
  double expected = 0;
  for (float value : slice) expected += value;
  for (IsaLevel level : read_levels()) EXPECT_EQ(read_sum(level, slice), expected) << isa_level_name(level);
}

// acc_j starts at j in every lane and takes `iterations` steps of acc * a + b; with a = 2, b = 1
// every value is a small integer, so float arithmetic is exact.
double expected_chains(IsaLevel level, int64_t iterations, float a, float b) {
  double sum = 0;
  for (int chain = 0; chain < fma_chain_count(level); ++chain) {
    float acc = static_cast<float>(chain);
    for (int64_t i = 0; i < iterations; ++i) acc = std::fma(acc, a, b);
    sum += static_cast<double>(acc) * fma_lane_count(level);
  }
  return sum;
}

TEST(MachineLimits, FmaChainsComputeTheArithmetic) {
  for (IsaLevel level : fma_levels()) {
    EXPECT_EQ(fma_chains(level, 0, 2.0f, 1.0f), expected_chains(level, 0, 2.0f, 1.0f)) << isa_level_name(level);
    EXPECT_EQ(fma_chains(level, 1, 2.0f, 1.0f), expected_chains(level, 1, 2.0f, 1.0f)) << isa_level_name(level);
    EXPECT_EQ(fma_chains(level, 5, 2.0f, 1.0f), expected_chains(level, 5, 2.0f, 1.0f)) << isa_level_name(level);
    EXPECT_EQ(fma_chains(level, 7, 1.0f, 0.5f), expected_chains(level, 7, 1.0f, 0.5f)) << isa_level_name(level);
  }
  // Hand values for AVX2 (10 chains x 8 lanes), 3 steps of 2x + 1: j -> 8j + 7, summed over j < 10
  // = 8 * 45 + 70 = 430, times 8 lanes.
  if (missing_feature(IsaLevel::kAvx2, cpu_features()) == nullptr) {
    EXPECT_EQ(fma_chains(IsaLevel::kAvx2, 3, 2, 1), 3440.0);
  }
}

TEST(MachineLimits, FmaChainsRejectRef) { EXPECT_THROW(fma_chains(IsaLevel::kRef, 1, 1, 1), UsageError); }

TEST(MachineLimits, MeasurementsArePositiveAndFinite) {
  LimitsOptions small;
  small.buffer_bytes = 8 << 20;
  small.passes = 1;
  small.repeats = 2;
  small.fma_iterations = 100'000;
  small.fma_repeats = 2;
  for (int threads : {1, 2}) {
    const BandwidthLimit read = measure_read_bandwidth(threads, small);
    EXPECT_TRUE(std::isfinite(read.gbps) && read.gbps > 0) << read.gbps;
    EXPECT_EQ(read.threads, threads);
    EXPECT_EQ(read.level, best_read_level());
    for (IsaLevel level : fma_levels()) {
      const FmaLimit fma = measure_fma_peak(level, threads, small);
      EXPECT_TRUE(std::isfinite(fma.gflops) && fma.gflops > 0) << fma.gflops;
      EXPECT_EQ(fma.level, level);
    }
  }
  EXPECT_THROW(measure_read_bandwidth(0, small), UsageError);
}

TEST(MachineLimits, LookupByThreadsAndLevel) {
  MachineLimits limits;
  limits.bandwidth = {{1, IsaLevel::kAvx512, 19.0}, {2, IsaLevel::kAvx512, 30.0}};
  limits.fma = {{1, IsaLevel::kAvx2, 85.0}, {1, IsaLevel::kAvx512, 170.0}};
  EXPECT_EQ(limits.read_gbps(2), 30.0);
  EXPECT_FALSE(limits.read_gbps(3).has_value());
  EXPECT_EQ(limits.fma_gflops(IsaLevel::kAvx512, 1), 170.0);
  EXPECT_FALSE(limits.fma_gflops(IsaLevel::kAvx512, 2).has_value());
}

}  // namespace
}  // namespace moe::kernels
