// Scheduler: continuous batching on a Session. One engine thread owns the session and loops:
// drop requests whose clients left, admit waiting requests in arrival order (up to max_num_seqs
// running, a step's tokens up to max_num_tokens: each admitted prompt is prefilled in chunks that
// fit what the running requests leave, and while the KV pool has blocks for the next prompt),
// step, and hand each event's text to its Generation; finished requests leave between steps. HTTP
// handler threads only submit and wait.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"
#include "runtime/session.h"
#include "serve/generation.h"
#include "serve/metrics.h"
#include "serve/text_stream.h"

namespace moe::serve {

struct SchedulerOptions {
  int64_t max_num_seqs = 16;     // requests in one step
  int64_t max_num_tokens = 512;  // tokens in one step: decoding tokens plus prompt chunks
  int64_t max_queued = 64;       // requests waiting beyond the batch's free places; more are refused
};

// submit() refused the request: the queue is full or the server is shutting down (HTTP 503).
class Overloaded : public Error {
 public:
  using Error::Error;
};

class Scheduler {
 public:
  // Starts the engine thread on `session`, which it alone uses until drain() returns.
  Scheduler(runtime::Session& session, SchedulerOptions options);
  ~Scheduler();  // drain()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request (params checked by the caller); throws Overloaded, or ApiError 400 when its
  // prompt and max_tokens could never fit the KV pool.
  std::shared_ptr<Generation> submit(GenerationParams params);
  // A snapshot of the counters and gauges.
  Metrics metrics() const;
  // From now on submit() refuses every request.
  void close();
  // close(), then lets every queued and running request finish and stops the engine thread.
  void drain();

 private:
  struct Running {
    std::shared_ptr<Generation> generation;
    TextStream text;
    int64_t n_tokens = 0;  // generated
  };

  void loop();
  void admit();  // with mutex_ held; sets the running gauge
  void drop_cancelled();
  void step();
  void fail_running(const std::string& message);
  void record(const Metrics& delta);  // adds the counters, sets the running and KV gauges

  runtime::Session& session_;
  const SchedulerOptions options_;
  const std::optional<int64_t> max_positions_;  // of one request: the KV pool's (unset: it grows)
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Generation>> waiting_;  // guarded by mutex_
  bool draining_ = false;                            // guarded by mutex_
  Metrics metrics_;                                  // guarded by mutex_; waiting read from waiting_
  std::map<uint64_t, Running> running_;              // the engine thread's, by session request id
  uint64_t next_id_ = 0;
  std::vector<runtime::Event> events_;
  std::thread thread_;  // started by the constructor once the members it uses are set
};

}  // namespace moe::serve
