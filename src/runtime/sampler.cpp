// Sampling over the candidate set sorted by logit (ties by id, so results are reproducible).
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"

namespace moe::runtime {

void SamplerOptions::validate() const {
  MOE_CHECK(std::isfinite(temperature) && temperature >= 0, UsageError, "--temp: must be >= 0, got ", temperature);
  MOE_CHECK(top_k >= 0, UsageError, "--top-k: must be >= 0, got ", top_k);
  MOE_CHECK(top_p > 0 && top_p <= 1, UsageError, "--top-p: must be in (0, 1], got ", top_p);
}

int32_t argmax(std::span<const float> values) {
  return static_cast<int32_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (options_.temperature <= 0) return argmax(logits);
  const int64_t n = static_cast<int64_t>(logits.size());
  const int64_t k = options_.top_k > 0 ? std::min(options_.top_k, n) : n;
  std::vector<int32_t> candidates(n);
  std::iota(candidates.begin(), candidates.end(), 0);
  std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  candidates.resize(k);
  std::vector<double> probs(k);
  const double max = logits[candidates[0]];
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += probs[i] = std::exp((logits[candidates[i]] - max) / options_.temperature);
  int64_t keep = k;
  double cumulative = 0;
  for (int64_t i = 0; i < k; ++i) {
    cumulative += probs[i] / sum;
    if (cumulative >= options_.top_p) {
      keep = i + 1;
      break;
    }
  }
  double kept_sum = 0;
  for (int64_t i = 0; i < keep; ++i) kept_sum += probs[i];
  double draw = rng_.uniform() * kept_sum;
  for (int64_t i = 0; i < keep; ++i) {
    draw -= probs[i];
    if (draw < 0) return candidates[i];
  }
  return candidates[keep - 1];
}

}  // namespace moe::runtime
