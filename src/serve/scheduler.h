// Scheduler: continuous batching on a Session. One engine thread owns the session and loops:
// drop requests whose clients left, admit waiting requests in arrival order (up to max_num_seqs
// running, a step's tokens up to max_num_tokens: each admitted prompt is prefilled in chunks that
// fit what the running requests leave, and while the KV pool has blocks for the next prompt),
// step, and hand each event's text to its Generation; finished requests leave between steps. HTTP
// handler threads only submit and wait. Under MPI the engine thread of rank 0 drives every rank
// (EngineRanks): each admitted request goes to the slot (replica, or attention-DP rank) with the
// fewest tokens in flight, and an idle server still sends a plan every second so that the other
// ranks' waits never time out. The token budget and the KV pool's room are rank 0's view (its
// slot's requests plus those admitted this step); a request placed on a slot whose pool is full
// waits inside that rank's session.
#pragma once

#include <chrono>
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
#include "serve/engine_ranks.h"
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

  // Queues a request (params checked by the caller), `waker` told of its news; throws Overloaded,
  // or ApiError 400 when its prompt and max_tokens could never fit the KV pool.
  std::shared_ptr<Generation> submit(GenerationParams params, std::shared_ptr<Waker> waker = nullptr);
  // A snapshot of the counters and gauges.
  Metrics metrics() const;
  // The engine's figures, gathered at the end of the next step (a collective of every rank);
  // nullopt once the engine has stopped or after `timeout`.
  std::optional<EngineFigures> engine_figures(std::chrono::milliseconds timeout);
  // From now on submit() refuses every request.
  void close();
  // close(), then lets the queued and running requests finish for up to `timeout`, fails those
  // still unfinished (their clients get an error), and stops the engine thread.
  void drain(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

 private:
  struct Running {
    std::shared_ptr<Generation> generation;
    TextStream text;
    int64_t n_tokens = 0;                              // generated
    int slot = 0;                                      // where it runs (EngineRanks)
    std::chrono::steady_clock::time_point last_token;  // when its last token came
    // Positions in its KV cache once the prompt is in: what it weighs on its slot.
    int64_t tokens_in_flight() const { return static_cast<int64_t>(generation->params().prompt.size()) + n_tokens; }
  };

  void loop();
  void admit(StepPlan& plan);  // with mutex_ held; sets the running gauge
  int least_loaded_slot() const;
  void drop_cancelled(StepPlan& plan);
  void step(const StepPlan& plan);
  void fail_running(const std::string& message);
  void abandon(StepPlan& plan);       // with mutex_ held: fails every waiting and running request
  void record(const Metrics& delta);  // adds the counters, sets the running and KV gauges

  runtime::Session& session_;
  EngineRanks ranks_;
  const SchedulerOptions options_;
  const std::optional<int64_t> max_positions_;  // of one request: the KV pool's (unset: it grows)
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Generation>> waiting_;  // guarded by mutex_
  bool draining_ = false;                            // guarded by mutex_
  bool abandoning_ = false;                          // guarded by mutex_: drain's timeout passed
  Metrics metrics_;                                  // guarded by mutex_; waiting read from waiting_
  bool figures_wanted_ = false;                      // guarded by mutex_
  bool engine_stopped_ = false;                      // guarded by mutex_
  uint64_t figures_serial_ = 0;                      // guarded by mutex_; counts figures_ updates
  EngineFigures figures_;                            // guarded by mutex_
  std::condition_variable figures_ready_;
  std::map<uint64_t, Running> running_;  // the engine thread's, by session request id
  uint64_t next_id_ = 0;
  std::vector<uint64_t> finished_early_;  // ids that met a stop string: dropped at the next step
  std::vector<runtime::Event> events_;
  std::thread thread_;  // started by the constructor once the members it uses are set
};

}  // namespace moe::serve
