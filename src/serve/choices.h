// Choices: the n choices of one request, each its own Generation in the scheduler (choice i samples
// with seed + i, so a seeded request gives the same n texts again), woken by one Waker so that the
// handler can wait for news from any of them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "serve/generation.h"
#include "serve/scheduler.h"

namespace moe::serve {

class Choices {
 public:
  // Throws Overloaded when the scheduler refuses one, after cancelling those it took.
  Choices(Scheduler& scheduler, const GenerationParams& params, int64_t n);
  int64_t size() const { return static_cast<int64_t>(generations_.size()); }
  // What each choice has now, by index; when none has text or an end, first waits up to `timeout`
  // for one to. A choice's end (finish_reason or error) is taken once; later its updates are empty.
  std::vector<GenerationUpdate> take(std::chrono::milliseconds timeout);
  bool all_ended() const {
    return std::all_of(ended_.begin(), ended_.end(), [](bool e) { return e; });
  }
  void cancel();

 private:
  std::vector<GenerationUpdate> take_now();

  std::shared_ptr<Waker> waker_ = std::make_shared<Waker>();
  std::vector<std::shared_ptr<Generation>> generations_;
  std::vector<bool> ended_;  // by index: its end was taken
};

}  // namespace moe::serve
