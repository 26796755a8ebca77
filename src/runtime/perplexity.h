// Perplexity exactly as llama.cpp's llama-perplexity computes it: the text tokenized once with BOS,
// split into non-overlapping windows of n_ctx tokens, the first token of each window replaced by
// BOS, and only the second half of each window scored (positions [n_ctx/2, n_ctx - 1)).
#pragma once

#include <functional>
#include <vector>

#include "model/transformer.h"
#include "runtime/generator.h"

namespace moe::runtime {

struct PerplexityResult {
  double perplexity = 0;
  int64_t tokens_scored = 0;
  int64_t n_windows = 0;
};

// Negative log-likelihood summed over the windows this rank computes.
struct NllSum {
  double nll = 0;
  int64_t count = 0;
};

struct WindowOptions {
  int64_t n_ctx = 512;
  int32_t bos_id = 0;
  bool add_bos = true;
  std::function<bool(int64_t)> serves;           // window -> computed here (default: all)
  StepSync any_active;                           // lockstep with the other ranks of a replica
  std::function<void(int64_t, double)> on_window;  // progress: window done, running perplexity
};

// Number of windows of a text; throws UsageError when there are fewer than n_ctx tokens.
int64_t count_windows(const std::vector<int32_t>& tokens, int64_t n_ctx);
// The windows this rank serves, scored.
NllSum score_windows(model::Transformer& transformer, const std::vector<int32_t>& tokens, const WindowOptions& options);
// One process: every window.
PerplexityResult perplexity(model::Transformer& transformer, const std::vector<int32_t>& tokens,
                            const WindowOptions& options);

}  // namespace moe::runtime
