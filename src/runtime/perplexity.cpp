// Windowed negative log-likelihood, log-softmax in double.
#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace moe::runtime {

PerplexityResult perplexity(model::Transformer& transformer, const std::vector<int32_t>& tokens, int64_t n_ctx,
                            int32_t bos_id, bool add_bos, const std::function<void(int64_t, double)>& on_window) {
  MOE_CHECK(n_ctx >= 4, UsageError, "--ctx: must be >= 4, got ", n_ctx);
  const int64_t n_windows = static_cast<int64_t>(tokens.size()) / n_ctx;
  MOE_CHECK(n_windows >= 1, UsageError, "--perplexity: the text has ", tokens.size(), " tokens, fewer than --ctx ",
            n_ctx);
  const int64_t vocab = transformer.vocab_size();
  const int64_t first = n_ctx / 2;
  double nll_sum = 0;
  int64_t count = 0;
  std::vector<float> logits;
  model::KvCache cache = transformer.make_cache(n_ctx);
  for (int64_t window = 0; window < n_windows; ++window) {
    std::vector<int32_t> batch(tokens.begin() + window * n_ctx, tokens.begin() + (window + 1) * n_ctx);
    if (add_bos) batch[0] = bos_id;
    cache.clear();
    transformer.forward(batch, cache, logits, true);
    for (int64_t pos = first; pos < n_ctx - 1; ++pos) {
      const float* row = logits.data() + pos * vocab;
      const float max = *std::max_element(row, row + vocab);
      double sum = 0;
      for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(row[i]) - max);
      const int32_t target = tokens[window * n_ctx + pos + 1];
      nll_sum += -(static_cast<double>(row[target]) - max - std::log(sum));
      ++count;
    }
    if (on_window) on_window(window, std::exp(nll_sum / count));
  }
  return {std::exp(nll_sum / count), count, n_windows};
}

}  // namespace moe::runtime
