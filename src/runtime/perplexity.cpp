// Windows as scoring requests, summed in window and position order.
#include "runtime/perplexity.h"

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

NllSum score_windows(Session& session, const std::vector<int32_t>& tokens, int64_t n_ctx,
                     const std::function<void(int64_t, double)>& on_window) {
  const int64_t n_windows = count_windows(tokens, n_ctx);
  const tokenizer::Vocab& vocab = session.model().vocab;
  NllSum sum;
  std::vector<Event> events;
  int64_t next = 0;
  while (true) {
    for (; session.n_active() == 0 && next < n_windows; ++next) {
      if (!session.serves(next)) continue;
      Request window;
      window.id = static_cast<uint64_t>(next);
      window.prompt.assign(tokens.begin() + next * n_ctx, tokens.begin() + (next + 1) * n_ctx);
      if (vocab.add_bos) window.prompt[0] = vocab.bos_id;
      // Chunks of 128 tokens bound the logits (and prefill buffers) held at once whatever --ctx
      // is; the kernels are batch-invariant, so the numbers are those of one forward pass.
      window.prefill_chunk = 128;
      window.score_from = n_ctx / 2;
      session.add_request(std::move(window));
    }
    if (!session.step(events)) return sum;
    for (const Event& event : events) {
      for (double nll : event.nll) sum.nll += nll;
      sum.count += static_cast<int64_t>(event.nll.size());
      if (event.completion && on_window) on_window(static_cast<int64_t>(event.id), std::exp(sum.nll / sum.count));
    }
  }
}

}  // namespace moe::runtime
