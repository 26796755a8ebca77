// Generation: one choice of an HTTP request in the engine, shared by the handler thread that waits
// for it and the engine thread that produces it: the request's parameters, the text (and logprobs)
// not yet taken, how it finished, and the client's cancellation. A Waker shared by the n choices of
// one request lets its handler wait for any of them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/sampler.h"

namespace moe::serve {

struct GenerationParams {
  std::vector<int32_t> prompt;  // token ids, at least one
  int64_t max_tokens = 16;      // tokens to generate at most
  runtime::SamplerOptions sampler;
  bool stop_at_eos = true;          // false: ignore_eos
  std::vector<std::string> stop;    // stop strings, none empty
  std::optional<int64_t> logprobs;  // each token's log-probability and the top N; unset: none
};

// What arrived since the handler last looked.
struct GenerationUpdate {
  std::string text;
  std::vector<runtime::Logprobs> logprobs;   // of the tokens generated since, when asked
  std::optional<std::string> finish_reason;  // "length" or "stop", once finished
  std::optional<std::string> error;          // the engine failed this request
  int64_t completion_tokens = 0;             // generated so far
  bool done() const { return finish_reason || error; }
};

// Counts the news of several generations, so that one thread can wait for any of them.
class Waker {
 public:
  void notify();
  uint64_t count() const;  // notify() calls so far
  // Waits up to `timeout` until count() is past `seen`.
  void wait(uint64_t seen, std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t count_ = 0;  // guarded by mutex_
};

class Generation {
 public:
  explicit Generation(GenerationParams params, std::shared_ptr<Waker> waker = nullptr)
      : params_(std::move(params)), arrival_(std::chrono::steady_clock::now()), waker_(std::move(waker)) {}
  const GenerationParams& params() const { return params_; }
  std::chrono::steady_clock::time_point arrival() const { return arrival_; }

  // Engine side: the text a step released and the logprobs of its token, if any.
  void append(const std::string& text, int64_t completion_tokens, std::optional<runtime::Logprobs> logprobs);
  void finish(const std::string& text, int64_t completion_tokens, std::optional<runtime::Logprobs> logprobs,
              std::string reason);
  void fail(std::string message);

  // Handler side: waits up to `timeout` for new text or the end, and takes what came (logprobs
  // without text come with the next text or the end).
  GenerationUpdate take(std::chrono::milliseconds timeout);
  // The client left: the engine drops the request before its next step.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  void changed();  // after pending_ changed, with mutex_ released

  const GenerationParams params_;
  const std::chrono::steady_clock::time_point arrival_;
  const std::shared_ptr<Waker> waker_;  // may be null
  std::atomic<bool> cancelled_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  GenerationUpdate pending_;  // guarded by mutex_; text accumulates until taken
};

}  // namespace moe::serve
