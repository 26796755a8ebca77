// Generation: one HTTP request's place in the engine, shared by the handler thread that waits for
// it and the engine thread that produces it: the request's parameters, the text not yet taken,
// how it finished, and the client's cancellation.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
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
  bool stop_at_eos = true;        // false: ignore_eos
  std::vector<std::string> stop;  // stop strings, none empty
};

// What arrived since the handler last looked.
struct GenerationUpdate {
  std::string text;
  std::optional<std::string> finish_reason;  // "length" or "stop", once finished
  std::optional<std::string> error;          // the engine failed this request
  int64_t completion_tokens = 0;             // generated so far
  bool done() const { return finish_reason || error; }
};

class Generation {
 public:
  explicit Generation(GenerationParams params)
      : params_(std::move(params)), arrival_(std::chrono::steady_clock::now()) {}
  const GenerationParams& params() const { return params_; }
  std::chrono::steady_clock::time_point arrival() const { return arrival_; }

  // Engine side.
  void append(const std::string& text, int64_t completion_tokens);
  void finish(const std::string& text, int64_t completion_tokens, std::string reason);
  void fail(std::string message);

  // Handler side: waits up to `timeout` for new text or the end, and takes what came.
  GenerationUpdate take(std::chrono::milliseconds timeout);
  // The client left: the engine drops the request before its next step.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  const GenerationParams params_;
  const std::chrono::steady_clock::time_point arrival_;
  std::atomic<bool> cancelled_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  GenerationUpdate pending_;  // guarded by mutex_; text accumulates until taken
};

}  // namespace moe::serve
