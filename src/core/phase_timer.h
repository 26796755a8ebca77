// PhaseTimes: seconds spent per phase of the forward pass, for --profile. ScopedPhase adds the
// time of a scope to one phase.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

namespace moe {

enum class Phase { kAttention, kRouter, kDispatch, kExperts, kCombine, kSharedExpert, kOutput, kComm, kCount };

constexpr std::array<const char*, static_cast<size_t>(Phase::kCount)> kPhaseNames = {
    "attention", "router", "dispatch", "experts", "combine", "shared", "output", "comm"};

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

}  // namespace moe
