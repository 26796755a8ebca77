// Windowed negative log-likelihood, log-softmax in double.
#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace moe::runtime {

int64_t count_windows(const std::vector<int32_t>& tokens, int64_t n_ctx) {
  MOE_CHECK(n_ctx >= 4, UsageError, "--ctx: must be >= 4, got ", n_ctx);
  const int64_t n_windows = static_cast<int64_t>(tokens.size()) / n_ctx;
  MOE_CHECK(n_windows >= 1, UsageError, "--perplexity: the text has ", tokens.size(), " tokens, fewer than --ctx ",
            n_ctx);
  return n_windows;
}

NllSum score_windows(model::Transformer& transformer, const std::vector<int32_t>& tokens,
                     const WindowOptions& options) {
  const int64_t n_ctx = options.n_ctx, n_windows = count_windows(tokens, n_ctx);
  const int64_t vocab = transformer.vocab_size(), first = n_ctx / 2;
  std::vector<int64_t> mine;
  for (int64_t window = 0; window < n_windows; ++window)
    if (!options.serves || options.serves(window)) mine.push_back(window);
  const StepSync sync = options.any_active ? options.any_active : [](bool local) { return local; };

  // A window runs in chunks of kChunk tokens through the cache, so the logits (and the prefill
  // buffers) held at once stay bounded whatever --ctx is; the kernels are batch-invariant, so the
  // numbers are the same as one forward of the whole window.
  constexpr int64_t kChunk = 128;
  const int64_t n_chunks = (n_ctx + kChunk - 1) / kChunk;
  NllSum sum;
  std::vector<float> logits;
  model::KvCache cache = transformer.make_cache(n_ctx);
  // Round r computes this rank's r-th window; ranks with fewer windows join with empty batches,
  // one per chunk.
  for (size_t round = 0; sync(round < mine.size()); ++round) {
    if (round >= mine.size()) {
      for (int64_t chunk = 0; chunk < n_chunks; ++chunk)
        transformer.forward(std::span<const model::SequenceSlice>(), logits);
      continue;
    }
    const int64_t window = mine[round];
    std::vector<int32_t> batch(tokens.begin() + window * n_ctx, tokens.begin() + (window + 1) * n_ctx);
    if (options.add_bos) batch[0] = options.bos_id;
    cache.clear();
    for (int64_t begin = 0; begin < n_ctx; begin += kChunk) {
      const int64_t end = std::min(n_ctx, begin + kChunk);
      const bool scored = end > first;  // positions first .. n_ctx - 2 predict the next token
      transformer.forward(std::span<const int32_t>(batch).subspan(begin, end - begin), cache, logits, scored);
      if (!scored) continue;
      for (int64_t pos = std::max(first, begin); pos < std::min(end, n_ctx - 1); ++pos) {
        const float* row = logits.data() + (pos - begin) * vocab;
        const float max = *std::max_element(row, row + vocab);
        double exp_sum = 0;
        for (int64_t i = 0; i < vocab; ++i) exp_sum += std::exp(static_cast<double>(row[i]) - max);
        const int32_t target = tokens[window * n_ctx + pos + 1];
        sum.nll += -(static_cast<double>(row[target]) - max - std::log(exp_sum));
        ++sum.count;
      }
    }
    if (options.on_window) options.on_window(window, std::exp(sum.nll / sum.count));
  }
  return sum;
}

PerplexityResult perplexity(model::Transformer& transformer, const std::vector<int32_t>& tokens,
                            const WindowOptions& options) {
  const NllSum sum = score_windows(transformer, tokens, options);
  return {std::exp(sum.nll / sum.count), sum.count, count_windows(tokens, options.n_ctx)};
}

}  // namespace moe::runtime
