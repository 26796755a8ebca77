// Sampler: picks the next token from logits as vLLM does: logit bias, then the repetition,
// frequency and presence penalties (from the tokens this sampler picked, and the prompt for the
// repetition penalty); then greedy at temperature 0, else temperature, min-p, top-k and top-p
// (nucleus) sampling with a seeded generator. token_logprobs gives the log-probabilities a client
// may ask for.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/random.h"

namespace moe::runtime {

struct SamplerOptions {
  float temperature = 0.8f;      // <= 0: greedy
  int64_t top_k = 40;            // 0: all tokens
  float top_p = 0.95f;           // 1: no nucleus cut
  float min_p = 0;               // drops tokens less likely than min_p times the likeliest (after temperature); 0: none
  float presence_penalty = 0;    // subtracted from the logit of every token generated so far
  float frequency_penalty = 0;   // times the token's count among the generated tokens, subtracted
  float repetition_penalty = 1;  // a prompt or generated token's logit divided by it when > 0, else multiplied
  std::vector<std::pair<int32_t, float>> logit_bias = {};  // (token id, added to its logit)
  uint64_t seed = 0;
  // Throws UsageError naming --temp, --top-k, --top-p, or the request field (min_p, ...).
  void validate() const;
};

class Sampler {
 public:
  // `prompt`: the tokens the repetition penalty counts beside the generated ones.
  explicit Sampler(SamplerOptions options, std::span<const int32_t> prompt = {});
  // The next token, counted as generated for the penalties. Throws UsageError for a logit_bias
  // token outside the logits.
  int32_t sample(std::span<const float> logits);
  // The logits with bias and penalties applied, as sample() would see them now: `logits` itself
  // when none applies, else a view valid until the next call.
  std::span<const float> penalized(std::span<const float> logits);

 private:
  SamplerOptions options_;
  Rng rng_;
  bool penalized_ = false;                       // a presence, frequency or repetition penalty is set
  std::unordered_map<int32_t, int64_t> counts_;  // generated tokens, when penalized_
  std::unordered_set<int32_t> prompt_tokens_;    // with a repetition penalty only
  std::vector<float> adjusted_;
};

struct TokenWeight {
  int32_t token = 0;
  double weight = 0;  // proportional to the token's probability
};

// What a token is drawn from at a positive temperature, as vLLM's sampler: softmax(logits /
// temperature), tokens below min_p times the likeliest dropped, then the top_k likeliest kept,
// then the smallest prefix whose renormalized mass reaches top_p. Likeliest first (ties by id);
// weights are relative to the likeliest's.
std::vector<TokenWeight> sampling_distribution(std::span<const float> logits, const SamplerOptions& options);

// Index of the largest value; ties go to the lowest index.
int32_t argmax(std::span<const float> values);

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
};

// A sampled token's log-probability and the n likeliest tokens (descending, ties by id).
struct Logprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;
};

// log_softmax(logits) at `token` and its n_top largest entries. Called on the model's logits, these
// are vLLM's default "raw" logprobs: before logit bias, penalties, temperature and any cut.
Logprobs token_logprobs(std::span<const float> logits, int32_t token, int64_t n_top);

}  // namespace moe::runtime
