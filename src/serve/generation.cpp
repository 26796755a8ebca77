// Generation: the hand-over of text between the engine thread and a request's handler thread.
#include "serve/generation.h"

namespace moe::serve {

void Waker::notify() {
  {
    const std::lock_guard lock(mutex_);
    ++count_;
  }
  changed_.notify_all();
}

uint64_t Waker::count() const {
  const std::lock_guard lock(mutex_);
  return count_;
}

void Waker::wait(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return count_ != seen; });
}

void Generation::changed() {
  changed_.notify_all();
  if (waker_) waker_->notify();
}

void Generation::append(const std::string& text, int64_t completion_tokens, std::optional<runtime::Logprobs> logprobs) {
  {
    const std::lock_guard lock(mutex_);
    pending_.text += text;
    pending_.completion_tokens = completion_tokens;
    if (logprobs) pending_.logprobs.push_back(std::move(*logprobs));
  }
  if (!text.empty()) changed();
}

void Generation::finish(const std::string& text, int64_t completion_tokens, std::optional<runtime::Logprobs> logprobs,
                        std::string reason) {
  {
    const std::lock_guard lock(mutex_);
    pending_.text += text;
    pending_.completion_tokens = completion_tokens;
    if (logprobs) pending_.logprobs.push_back(std::move(*logprobs));
    pending_.finish_reason = std::move(reason);
  }
  changed();
}

void Generation::fail(std::string message) {
  {
    const std::lock_guard lock(mutex_);
    pending_.error = std::move(message);
  }
  changed();
}

GenerationUpdate Generation::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !pending_.text.empty() || pending_.done(); });
  GenerationUpdate update = pending_;
  pending_.text.clear();
  pending_.logprobs.clear();
  return update;
}

}  // namespace moe::serve
