// ThreadPool: a fixed set of worker threads that run parallel_for loops. Work is split into tasks
// by the caller (fixed sizes, never by thread count) so that results do not depend on threads.
// Workers spin briefly before sleeping, because decode issues a parallel_for every few
// microseconds and a condition-variable wake-up costs tens of microseconds each time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace moe {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads >= 1; the caller's thread is one of them
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs task(i) for i in [0, n_tasks), spread over the threads; returns when all are done.
  // The first exception thrown by a task is rethrown here.
  void parallel_for(int64_t n_tasks, const std::function<void(int64_t)>& task);

 private:
  void worker_loop();
  void run_tasks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t)>* task_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_task_{0};
  std::atomic<uint64_t> generation_{0};  // one per parallel_for
  std::atomic<int> running_{0};          // workers not yet done with the current generation
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;  // guarded by mutex_
};

// fn(begin, end) over [0, n) in fixed ranges of `per_task` (the last one shorter), side by side on
// `pool`, or in order on the calling thread when `pool` is null.
void parallel_ranges(ThreadPool* pool, int64_t n, int64_t per_task, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace moe
