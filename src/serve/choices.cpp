// Choices: submitting n generations together and taking their news together.
#include "serve/choices.h"

namespace moe::serve {

Choices::Choices(Scheduler& scheduler, const GenerationParams& params, int64_t n) {
  try {
    for (int64_t index = 0; index < n; ++index) {
      GenerationParams choice = params;
      choice.sampler.seed += static_cast<uint64_t>(index);
      generations_.push_back(scheduler.submit(std::move(choice), waker_));
      ended_.push_back(false);
    }
  } catch (...) {
    cancel();
    throw;
  }
}

std::vector<GenerationUpdate> Choices::take_now() {
  std::vector<GenerationUpdate> updates(generations_.size());
  for (size_t index = 0; index < generations_.size(); ++index)
    if (!ended_[index]) updates[index] = generations_[index]->take(std::chrono::milliseconds(0));
  return updates;
}

std::vector<GenerationUpdate> Choices::take(std::chrono::milliseconds timeout) {
  const uint64_t seen = waker_->count();
  std::vector<GenerationUpdate> updates = take_now();
  const auto news = [](const GenerationUpdate& u) { return !u.text.empty() || u.done(); };
  if (std::none_of(updates.begin(), updates.end(), news)) {
    waker_->wait(seen, timeout);
    std::vector<GenerationUpdate> later = take_now();
    for (size_t index = 0; index < later.size(); ++index)  // the logprobs the first take got come first
      later[index].logprobs.insert(later[index].logprobs.begin(), updates[index].logprobs.begin(),
                                   updates[index].logprobs.end());
    updates = std::move(later);
  }
  for (size_t index = 0; index < updates.size(); ++index) ended_[index] = ended_[index] || updates[index].done();
  return updates;
}

void Choices::cancel() {
  for (const auto& generation : generations_) generation->cancel();
}

}  // namespace moe::serve
