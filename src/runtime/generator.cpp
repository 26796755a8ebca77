// Prefill + decode loop.
#include "runtime/generator.h"

#include <chrono>

#include "core/error.h"

namespace moe::runtime {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

GenerationResult generate(model::Transformer& transformer, const tokenizer::Tokenizer& tokenizer,
                          const std::vector<int32_t>& prompt_tokens, const GenerationOptions& options,
                          const std::function<void(const std::string&)>& on_token) {
  MOE_CHECK(!prompt_tokens.empty(), UsageError, "-p: the prompt is empty and the model adds no BOS token");
  MOE_CHECK(options.n_predict >= 0, UsageError, "-n: must be >= 0, got ", options.n_predict);
  options.sampler.validate();
  GenerationResult result;
  result.prompt_tokens = prompt_tokens;
  model::KvCache cache = transformer.make_cache(static_cast<int64_t>(prompt_tokens.size()) + options.n_predict);
  Sampler sampler(options.sampler);
  std::vector<float> logits;

  auto start = std::chrono::steady_clock::now();
  transformer.forward(prompt_tokens, cache, logits, false);
  result.prefill_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < options.n_predict; ++i) {
    const int32_t token = sampler.sample(logits);
    result.tokens.push_back(token);
    if (on_token) on_token(tokenizer.token_bytes(token));
    if (options.stop_at_eos && token == tokenizer.eos_id()) break;
    if (i + 1 < options.n_predict) transformer.forward(std::span<const int32_t>(&token, 1), cache, logits, false);
  }
  result.decode_seconds = seconds_since(start);
  result.text = tokenizer.decode(result.tokens);
  return result;
}

}  // namespace moe::runtime
