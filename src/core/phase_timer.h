// PhaseTimes: seconds spent per phase of the forward pass (inference) or of the training steps,
// for --profile. ScopedPhase adds the time of a scope to one phase. Inference uses the phases up
// to kComm; training adds the optimizer, the data and the rest of each step.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>

namespace moe {

enum class Phase {
  kAttention,
  kRouter,
  kDispatch,
  kExperts,
  kCombine,
  kSharedExpert,
  kOutput,
  kComm,
  kOptimizer,
  kData,
  kOther,
  kCount
};

constexpr std::array<const char*, static_cast<size_t>(Phase::kCount)> kPhaseNames = {
    "attention", "router", "dispatch", "experts", "combine", "shared", "output", "comm", "optimizer", "data", "other"};

struct PhaseTimes {
  std::array<double, static_cast<size_t>(Phase::kCount)> seconds{};
  double& operator[](Phase phase) { return seconds[static_cast<size_t>(phase)]; }
  double total() const {
    double sum = 0;
    for (double s : seconds) sum += s;
    return sum;
  }
};

class ScopedPhase {
 public:
  ScopedPhase(PhaseTimes& times, Phase phase) : times_(times), phase_(phase), start_(Clock::now()) {}
  ~ScopedPhase() { times_[phase_] += std::chrono::duration<double>(Clock::now() - start_).count(); }
  ScopedPhase(const ScopedPhase&) = delete;
  ScopedPhase& operator=(const ScopedPhase&) = delete;

 private:
  using Clock = std::chrono::steady_clock;
  PhaseTimes& times_;
  Phase phase_;
  Clock::time_point start_;
};

// A ScopedPhase when `times` is given, nothing otherwise (blocks timed only under a profiler).
class MaybeScopedPhase {
 public:
  MaybeScopedPhase(PhaseTimes* times, Phase phase) {
    if (times != nullptr) scope_.emplace(*times, phase);
  }

 private:
  std::optional<ScopedPhase> scope_;
};

}  // namespace moe
