// Loops over a range of the trainable parameters laid end to end (AdamW, the gradient norm, the
// clip): by parameter, or in fixed chunks of the concatenation on a thread pool. The chunks are
// cut from the range's start whatever the pool, so a sum of per-chunk partial sums taken in chunk
// order has the same bits on any number of threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "train/adamw.h"
#include "train/parallel_chunks.h"

namespace moe::train {

// Elements per chunk of for_param_chunks.
constexpr int64_t kParamChunk = 1 << 15;

// Calls f(param, lo, hi, concat_offset) for each parameter overlapping [begin, end) of the
// concatenation, with [lo, hi) in the parameter's own elements.
template <class F>
void for_each_overlap(const std::vector<ParamRef>& params, int64_t begin, int64_t end, F&& f) {
  int64_t offset = 0;
  for (const ParamRef& p : params) {
    const int64_t size = static_cast<int64_t>(p.value.size());
    const int64_t lo = std::max(begin, offset), hi = std::min(end, offset + size);
    if (lo < hi) f(p, lo - offset, hi - offset, offset);
    offset += size;
  }
}

// Calls f(chunk_index, chunk_begin, chunk_end) for the chunks of kParamChunk elements of
// [begin, end) (concatenation indices), on the pool.
template <class F>
void for_param_chunks(ThreadPool* pool, int64_t begin, int64_t end, const F& f) {
  for_chunks(pool, end - begin, kParamChunk,
             [&](int64_t lo, int64_t hi) { f(lo / kParamChunk, begin + lo, begin + hi); });
}

// The number of chunks for_param_chunks cuts [begin, end) into.
inline int64_t param_chunk_count(int64_t begin, int64_t end) { return (end - begin + kParamChunk - 1) / kParamChunk; }

// The sum of the squared gradients of [begin, end): per-chunk partial sums in double on the pool
// (within a parameter's part of a chunk, four interleaved accumulators), added in chunk order:
// the same bits on any pool.
double gradient_sum_squares(const std::vector<ParamRef>& params, int64_t begin, int64_t end, ThreadPool* pool);

}  // namespace moe::train
