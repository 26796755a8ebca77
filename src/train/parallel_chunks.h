// Chunked parallel loops for the training blocks: work is cut into fixed-size chunks (never by
// thread count), so every result is the same bits whatever the pool.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace moe::train {

// Calls fn(begin, end) for consecutive ranges of at most `chunk` indices covering [0, n); on the
// pool when there is one and more than one chunk, else inline.
template <typename Fn>
void for_chunks(ThreadPool* pool, int64_t n, int64_t chunk, const Fn& fn) {
  const int64_t n_chunks = (n + chunk - 1) / chunk;
  auto run = [&](int64_t index) { fn(index * chunk, std::min(n, (index + 1) * chunk)); };
  if (pool == nullptr || n_chunks <= 1) {
    for (int64_t index = 0; index < n_chunks; ++index) run(index);
    return;
  }
  pool->parallel_for(n_chunks, run);
}

}  // namespace moe::train
