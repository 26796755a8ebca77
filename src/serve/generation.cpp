// Generation: the hand-over of text between the engine thread and a request's handler thread.
#include "serve/generation.h"

namespace moe::serve {

void Generation::append(const std::string& text, int64_t completion_tokens) {
  {
    const std::lock_guard lock(mutex_);
    pending_.text += text;
    pending_.completion_tokens = completion_tokens;
  }
  changed_.notify_all();
}

void Generation::finish(const std::string& text, int64_t completion_tokens, std::string reason) {
  {
    const std::lock_guard lock(mutex_);
    pending_.text += text;
    pending_.completion_tokens = completion_tokens;
    pending_.finish_reason = std::move(reason);
  }
  changed_.notify_all();
}

void Generation::fail(std::string message) {
  {
    const std::lock_guard lock(mutex_);
    pending_.error = std::move(message);
  }
  changed_.notify_all();
}

GenerationUpdate Generation::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !pending_.text.empty() || pending_.done(); });
  GenerationUpdate update = pending_;
  pending_.text.clear();
  return update;
}

}  // namespace moe::serve
