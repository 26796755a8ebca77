// The chunked gradient sum of squares (param_chunks.h).
#include "train/param_chunks.h"

namespace moe::train {

double gradient_sum_squares(const std::vector<ParamRef>& params, int64_t begin, int64_t end, ThreadPool* pool) {
  std::vector<double> partial(param_chunk_count(begin, end), 0.0);
  for_param_chunks(pool, begin, end, [&](int64_t index, int64_t chunk_begin, int64_t chunk_end) {
    double sum = 0;
    for_each_overlap(params, chunk_begin, chunk_end, [&](const ParamRef& p, int64_t lo, int64_t hi, int64_t) {
      for (int64_t i = lo; i < hi; ++i) sum += static_cast<double>(p.grad[i]) * p.grad[i];
    });
    partial[index] = sum;
  });
  double sum = 0;
  for (double s : partial) sum += s;
  return sum;
}

}  // namespace moe::train
