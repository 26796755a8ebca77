// Perplexity exactly as llama.cpp's llama-perplexity computes it: the text tokenized once with BOS,
// split into non-overlapping windows of n_ctx tokens, the first token of each window replaced by
// BOS, and only the second half of each window scored (positions [n_ctx/2, n_ctx - 1)).
#pragma once

#include <functional>
#include <vector>

#include "model/transformer.h"

namespace moe::runtime {

struct PerplexityResult {
  double perplexity = 0;
  int64_t tokens_scored = 0;
  int64_t n_windows = 0;
};

// tokens: the whole text's ids (BOS first when the model adds one). Throws UsageError when there
// are fewer than n_ctx tokens. on_window(i, ppl_so_far) reports progress.
PerplexityResult perplexity(model::Transformer& transformer, const std::vector<int32_t>& tokens, int64_t n_ctx,
                            int32_t bos_id, bool add_bos,
                            const std::function<void(int64_t, double)>& on_window = {});

}  // namespace moe::runtime
