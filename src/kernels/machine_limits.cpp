// Machine limits: runs the per-ISA read and FMA kernels on several threads started together and
// keeps the best of several timed runs (the least disturbed by the rest of the machine).
#include "kernels/machine_limits.h"

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

#include "core/error.h"
#include "kernels/machine_limits_kernels.h"

namespace moe::kernels {
namespace {

using Clock = std::chrono::steady_clock;

// Runs work(thread_idx) on n_threads new threads released together; returns the seconds from the
// first start to the last end.
double timed_on_threads(int n_threads, const std::function<void(int)>& work) {
  std::vector<Clock::time_point> starts(n_threads), ends(n_threads);
  std::barrier sync(n_threads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < n_threads; ++t)
      threads.emplace_back([&, t] {
        sync.arrive_and_wait();
        starts[t] = Clock::now();
        work(t);
        ends[t] = Clock::now();
      });
  }
  const Clock::time_point first = *std::min_element(starts.begin(), starts.end());
  const Clock::time_point last = *std::max_element(ends.begin(), ends.end());
  return std::chrono::duration<double>(last - first).count();
}

double read_sum_ref(const float* data, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += data[i];
  return sum;
}

void check_threads(int n_threads) {
  MOE_CHECK(n_threads >= 1, UsageError, "-t: thread count must be >= 1, got ", n_threads);
}

}  // namespace

std::optional<double> MachineLimits::read_gbps(int threads) const {
  for (const BandwidthLimit& limit : bandwidth)
    if (limit.threads == threads) return limit.gbps;
  return std::nullopt;
}

std::optional<double> MachineLimits::fma_gflops(IsaLevel level, int threads) const {
  for (const FmaLimit& limit : fma)
    if (limit.level == level && limit.threads == threads) return limit.gflops;
  return std::nullopt;
}

std::vector<IsaLevel> fma_levels() {
  std::vector<IsaLevel> levels;
  for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvx512})
    if (missing_feature(level, cpu_features()) == nullptr) levels.push_back(level);
  return levels;
}

IsaLevel best_read_level() {
  for (IsaLevel level : {IsaLevel::kAvx512, IsaLevel::kAvx2})
    if (missing_feature(level, cpu_features()) == nullptr) return level;
  return IsaLevel::kRef;
}

double read_sum(IsaLevel level, std::span<const float> data) {
  require_isa_level(level, cpu_features(), "read_sum");
  const int64_t n = static_cast<int64_t>(data.size());
  switch (level) {
    case IsaLevel::kAvx2:
      return read_sum_avx2(data.data(), n);
    case IsaLevel::kAvx512:
      return read_sum_avx512(data.data(), n);
    case IsaLevel::kRef:
      break;
  }
  return read_sum_ref(data.data(), n);
}

double fma_chains(IsaLevel level, int64_t iterations, float a, float b) {
  MOE_CHECK(level != IsaLevel::kRef, UsageError, "fma_chains: no FMA kernel at level ref");
  require_isa_level(level, cpu_features(), "fma_chains");
  return level == IsaLevel::kAvx512 ? fma_chains_avx512(iterations, a, b) : fma_chains_avx2(iterations, a, b);
}

int fma_chain_count(IsaLevel level) { return level == IsaLevel::kAvx512 ? kFmaChainsAvx512 : kFmaChainsAvx2; }
int fma_lane_count(IsaLevel level) { return level == IsaLevel::kAvx512 ? kFmaLanesAvx512 : kFmaLanesAvx2; }

BandwidthLimit measure_read_bandwidth(int n_threads, const LimitsOptions& options) {
  check_threads(n_threads);
  const IsaLevel level = best_read_level();
  // Slices start on 64-byte lines (the loads never straddle two) and hold whole lines.
  constexpr int64_t kLineFloats = 16;
  const int64_t n_lines = options.buffer_bytes / 64;
  std::vector<float> buffer(static_cast<size_t>((n_lines + 1) * kLineFloats), 1.0f);
  const auto address = reinterpret_cast<uintptr_t>(buffer.data());
  const float* base = buffer.data() + (64 - address % 64) % 64 / sizeof(float);
  std::vector<double> sums(n_threads);
  auto run = [&](int passes) {
    return timed_on_threads(n_threads, [&](int t) {
      const int64_t first = n_lines * t / n_threads, last = n_lines * (t + 1) / n_threads;
      const std::span<const float> slice(base + first * kLineFloats, (last - first) * kLineFloats);
      for (int pass = 0; pass < passes; ++pass) sums[t] += read_sum(level, slice);
    });
  };
  run(1);  // warm-up: threads, TLBs, AVX-512 frequency
  double best = 0;
  for (int repeat = 0; repeat < options.repeats; ++repeat) {
    const double seconds = run(options.passes);
    best = std::max(best, static_cast<double>(n_lines * 64) * options.passes / seconds / 1e9);
  }
  double checksum = 0;
  for (double sum : sums) checksum += sum;
  MOE_ASSERT(std::isfinite(checksum) && checksum > 0);
  return {n_threads, level, best};
}

FmaLimit measure_fma_peak(IsaLevel level, int n_threads, const LimitsOptions& options) {
  check_threads(n_threads);
  // a < 1 and b > 0: the chains settle near b / (1 - a) = 1, far from overflow and denormals.
  constexpr float kA = 0.999999f, kB = 1e-6f;
  std::vector<double> sums(n_threads);
  auto run = [&](int64_t iterations) {
    return timed_on_threads(n_threads, [&](int t) { sums[t] += fma_chains(level, iterations, kA, kB); });
  };
  run(options.fma_iterations / 4);  // warm-up: threads, AVX-512 frequency
  const double flops_per_run =
      2.0 * static_cast<double>(options.fma_iterations) * fma_chain_count(level) * fma_lane_count(level) * n_threads;
  double best = 0;
  for (int repeat = 0; repeat < options.fma_repeats; ++repeat)
    best = std::max(best, flops_per_run / run(options.fma_iterations) / 1e9);
  for (double sum : sums) MOE_ASSERT(std::isfinite(sum));
  return {n_threads, level, best};
}

bool has_int8_dot_peak() {
  return missing_feature(IsaLevel::kAvx512, cpu_features()) == nullptr && cpu_features().avx512_vnni;
}

Int8DotLimit measure_int8_dot_peak(int n_threads, const LimitsOptions& options) {
  check_threads(n_threads);
  MOE_CHECK(has_int8_dot_peak(), UsageError, "int8 dot peak: this CPU lacks AVX-512 VNNI");
  std::vector<double> sums(n_threads);
  auto run = [&](int64_t iterations) {
    return timed_on_threads(n_threads, [&](int t) { sums[t] += dpbusd_chains_avx512vnni(iterations); });
  };
  run(options.fma_iterations / 4);  // warm-up
  // 16 lanes x 4 byte products per dpbusd, each a multiply and an add.
  const double ops_per_run = 2.0 * 64 * static_cast<double>(options.fma_iterations) * kFmaChainsAvx512 * n_threads;
  double best = 0;
  for (int repeat = 0; repeat < options.fma_repeats; ++repeat)
    best = std::max(best, ops_per_run / run(options.fma_iterations) / 1e9);
  for (double sum : sums) MOE_ASSERT(sum > 0);
  return {n_threads, best};
}

}  // namespace moe::kernels
