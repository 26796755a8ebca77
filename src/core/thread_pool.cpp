// Workers take task indices from an atomic counter. A generation counter starts each loop; the
// caller waits until every worker has finished the generation before starting the next, so no
// worker can miss one. Waiting spins for a bounded time, then sleeps on a condition variable.
#include "core/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/error.h"

namespace moe {

namespace {

constexpr int kSpinIterations = 4000;  // ~100-200 us of pause instructions

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or the spin budget runs out; true when done.
template <typename Done>
bool spin_until(const Done& done) {
  for (int i = 0; i < kSpinIterations; ++i) {
    if (done()) return true;
    cpu_relax();
  }
  return done();
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  MOE_CHECK(n_threads >= 1, UsageError, "--threads: must be >= 1, got ", n_threads);
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
  }
  start_cv_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::run_tasks() {
  for (;;) {
    const int64_t index = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (index >= n_tasks_) return;
    try {
      (*task_)(index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_task_.store(n_tasks_);
    }
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    auto started = [&] { return stopping_.load() || generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(started)) {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, started);
    }
    if (stopping_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    run_tasks();
    if (running_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n_tasks, const std::function<void(int64_t)>& task) {
  if (n_tasks <= 0) return;
  if (workers_.empty() || n_tasks == 1) {
    for (int64_t i = 0; i < n_tasks; ++i) task(i);
    return;
  }
  task_ = &task;
  n_tasks_ = n_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  error_ = nullptr;
  running_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  run_tasks();
  auto finished = [&] { return running_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(finished)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, finished);
  }
  task_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

void parallel_ranges(ThreadPool* pool, int64_t n, int64_t per_task, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t n_tasks = (n + per_task - 1) / per_task;
  auto task = [&](int64_t i) { fn(i * per_task, std::min(n, (i + 1) * per_task)); };
  if (pool == nullptr) {
    for (int64_t i = 0; i < n_tasks; ++i) task(i);
  } else {
    pool->parallel_for(n_tasks, task);
  }
}

}  // namespace moe
