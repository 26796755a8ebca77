// Perplexity exactly as llama.cpp's llama-perplexity computes it: the text tokenized once with BOS,
// split into non-overlapping windows of n_ctx tokens, the first token of each window replaced by
// BOS, and only the second half of each window scored (positions [n_ctx/2, n_ctx - 1)). Each window
// is a request of a Session that scores its prompt.
#pragma once

#include <functional>
#include <vector>

#include "runtime/session.h"

namespace moe::runtime {

// Negative log-likelihood summed over the windows this rank computes.
struct NllSum {
  double nll = 0;
  int64_t count = 0;
};

// Number of windows of a text; throws UsageError when there are fewer than n_ctx tokens.
int64_t count_windows(const std::vector<int32_t>& tokens, int64_t n_ctx);
// The windows this rank serves, one at a time, scored. Collective over the session's replica (ranks
// with fewer windows step with empty batches). on_window(window, running perplexity) after each.
NllSum score_windows(Session& session, const std::vector<int32_t>& tokens, int64_t n_ctx,
                     const std::function<void(int64_t, double)>& on_window = {});

}  // namespace moe::runtime
