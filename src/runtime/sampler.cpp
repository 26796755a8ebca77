// Sampling over the candidate set sorted by logit (ties by id, so results are reproducible). The
// penalties touch only the tokens seen so far (a sparse count), on a copy of the logits.
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace moe::runtime {

void SamplerOptions::validate() const {
  MOE_CHECK(std::isfinite(temperature) && temperature >= 0, UsageError, "--temp: must be >= 0, got ", temperature);
  MOE_CHECK(top_k >= 0, UsageError, "--top-k: must be >= 0, got ", top_k);
  MOE_CHECK(top_p > 0 && top_p <= 1, UsageError, "--top-p: must be in (0, 1], got ", top_p);
  MOE_CHECK(min_p >= 0 && min_p <= 1, UsageError, "min_p: must be in [0, 1], got ", min_p);
  MOE_CHECK(std::isfinite(presence_penalty), UsageError, "presence_penalty: must be finite, got ", presence_penalty);
  MOE_CHECK(std::isfinite(frequency_penalty), UsageError, "frequency_penalty: must be finite, got ", frequency_penalty);
  MOE_CHECK(std::isfinite(repetition_penalty) && repetition_penalty > 0, UsageError,
            "repetition_penalty: must be > 0, got ", repetition_penalty);
  for (const auto& [token, bias] : logit_bias)
    MOE_CHECK(token >= 0 && std::isfinite(bias), UsageError, "logit_bias: token ", token, " with bias ", bias,
              ": ids must be >= 0 and biases finite");
}

Sampler::Sampler(SamplerOptions options, std::span<const int32_t> prompt)
    : options_(std::move(options)),
      rng_(options_.seed),
      penalized_(options_.presence_penalty != 0 || options_.frequency_penalty != 0 ||
                 options_.repetition_penalty != 1) {
  if (options_.repetition_penalty != 1) prompt_tokens_.insert(prompt.begin(), prompt.end());
}

int32_t argmax(std::span<const float> values) {
  return static_cast<int32_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

std::span<const float> Sampler::penalized(std::span<const float> logits) {
  if (!penalized_ && options_.logit_bias.empty()) return logits;
  const auto n_vocab = static_cast<int64_t>(logits.size());
  adjusted_.assign(logits.begin(), logits.end());
  for (const auto& [token, bias] : options_.logit_bias) {
    MOE_CHECK(token < n_vocab, UsageError, "logit_bias: token ", token, " is outside the vocabulary [0, ", n_vocab,
              ")");
    adjusted_[token] += bias;
  }
  // vLLM's order: the repetition penalty over prompt and generated tokens, then frequency, then presence.
  const float repetition = options_.repetition_penalty;
  const auto repeat = [&](int32_t token) {
    float& logit = adjusted_[token];
    logit = logit > 0 ? logit / repetition : logit * repetition;
  };
  if (repetition != 1) {
    for (const int32_t token : prompt_tokens_) repeat(token);
    for (const auto& [token, count] : counts_)
      if (!prompt_tokens_.contains(token)) repeat(token);
  }
  for (const auto& [token, count] : counts_) {
    adjusted_[token] -= options_.frequency_penalty * static_cast<float>(count);
    adjusted_[token] -= options_.presence_penalty;
  }
  return adjusted_;
}

std::vector<TokenWeight> sampling_distribution(std::span<const float> logits, const SamplerOptions& options) {
  const double temperature = options.temperature;
  std::vector<int32_t> candidates;
  if (options.min_p > 0) {
    // Only tokens that may pass the min-p cut are sorted: logit >= max + T log(min_p) (with a
    // margin for rounding; the exact cut is below).
    const double max = *std::max_element(logits.begin(), logits.end());
    const double floor = max + temperature * std::log(static_cast<double>(options.min_p)) - 1e-3;
    for (int32_t token = 0; token < static_cast<int32_t>(logits.size()); ++token)
      if (logits[token] >= floor) candidates.push_back(token);
  } else {
    candidates.resize(logits.size());
    std::iota(candidates.begin(), candidates.end(), 0);
  }
  const auto n = static_cast<int64_t>(candidates.size());
  const int64_t k = options.top_k > 0 ? std::min(options.top_k, n) : n;
  std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  std::vector<TokenWeight> out;
  const double max = logits[candidates[0]];
  for (int64_t i = 0; i < k; ++i) {
    const double weight = std::exp((logits[candidates[i]] - max) / temperature);
    if (weight < options.min_p) break;  // vLLM drops p < min_p * p_max
    out.push_back({candidates[i], weight});
  }
  double sum = 0;
  for (const TokenWeight& entry : out) sum += entry.weight;
  double cumulative = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    cumulative += out[i].weight / sum;
    if (cumulative >= options.top_p) {
      out.resize(i + 1);
      break;
    }
  }
  return out;
}

int32_t Sampler::sample(std::span<const float> logits) {
  const std::span<const float> scores = penalized(logits);
  int32_t token = 0;
  if (options_.temperature <= 0) {
    token = argmax(scores);
  } else {
    const std::vector<TokenWeight> candidates = sampling_distribution(scores, options_);
    double kept_sum = 0;
    for (const TokenWeight& entry : candidates) kept_sum += entry.weight;
    double draw = rng_.uniform() * kept_sum;
    token = candidates.back().token;
    for (const TokenWeight& entry : candidates) {
      draw -= entry.weight;
      if (draw < 0) {
        token = entry.token;
        break;
      }
    }
  }
  if (penalized_) ++counts_[token];
  return token;
}

Logprobs token_logprobs(std::span<const float> logits, int32_t token, int64_t n_top) {
  const double max = *std::max_element(logits.begin(), logits.end());
  double exp_sum = 0;
  for (const float logit : logits) exp_sum += std::exp(logit - max);
  const double log_sum = max + std::log(exp_sum);
  const auto logprob = [&](int32_t id) { return static_cast<float>(logits[id] - log_sum); };
  Logprobs out;
  out.chosen = {token, logprob(token)};
  const int64_t n = std::min<int64_t>(n_top, static_cast<int64_t>(logits.size()));
  if (n > 0) {
    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    for (int64_t i = 0; i < n; ++i) out.top.push_back({ids[i], logprob(ids[i])});
  }
  return out;
}

}  // namespace moe::runtime
