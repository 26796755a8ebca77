// The chunked gradient sum of squares (param_chunks.h).
#include "train/param_chunks.h"

namespace moe::train {
namespace {

// Four accumulators (element i into lane i % 4), added as (0 + 1) + (2 + 3): four independent
// chains instead of one.
double sum_squares(const float* x, int64_t n) {
  double lane[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) lane[j] += static_cast<double>(x[i + j]) * x[i + j];
  for (; i < n; ++i) lane[i % 4] += static_cast<double>(x[i]) * x[i];
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

}  // namespace

double gradient_sum_squares(const std::vector<ParamRef>& params, int64_t begin, int64_t end, ThreadPool* pool) {
  std::vector<double> partial(param_chunk_count(begin, end), 0.0);
  for_param_chunks(pool, begin, end, [&](int64_t index, int64_t chunk_begin, int64_t chunk_end) {
    double sum = 0;
    for_each_overlap(params, chunk_begin, chunk_end, [&](const ParamRef& p, int64_t lo, int64_t hi, int64_t) {
      sum += sum_squares(p.grad.data() + lo, hi - lo);
    });
    partial[index] = sum;
  });
  double sum = 0;
  for (double s : partial) sum += s;
  return sum;
}

}  // namespace moe::train
