// Batched prefill + decode loop.
#include "runtime/generator.h"

#include <chrono>

#include "core/error.h"

namespace moe::runtime {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

std::vector<GenerationResult> generate(model::Transformer& transformer, const tokenizer::Tokenizer& tokenizer,
                                       const std::vector<GenerationRequest>& requests,
                                       const GenerationOptions& options, GenerationTimings& timings,
                                       const std::function<void(size_t, const std::string&)>& on_token,
                                       const StepSync& any_active) {
  MOE_CHECK(options.n_predict >= 0, UsageError, "-n: must be >= 0, got ", options.n_predict);
  options.sampler.validate();
  const size_t n_requests = requests.size();
  std::vector<GenerationResult> results(n_requests);
  std::vector<model::KvCache> caches;
  std::vector<Sampler> samplers;
  std::vector<model::SequenceSlice> batch;
  for (size_t i = 0; i < n_requests; ++i) {
    const std::vector<int32_t>& prompt = requests[i].prompt;
    MOE_CHECK(!prompt.empty(), UsageError, "prompt ", requests[i].id + 1, " is empty and the model adds no BOS token");
    results[i].prompt_tokens = prompt;
    timings.prompt_tokens += static_cast<int64_t>(prompt.size());
    caches.push_back(transformer.make_cache(static_cast<int64_t>(prompt.size()) + options.n_predict));
    SamplerOptions sampler = options.sampler;
    sampler.seed += requests[i].id;
    samplers.emplace_back(sampler);
  }
  for (size_t i = 0; i < n_requests; ++i) batch.push_back({requests[i].prompt, &caches[i], false});
  const StepSync sync = any_active ? any_active : [](bool local) { return local; };

  std::vector<float> logits;
  auto start = std::chrono::steady_clock::now();
  if (sync(!batch.empty())) transformer.forward(batch, logits);
  timings.prefill_seconds = seconds_since(start);

  // active[j] = request of logits row j.
  std::vector<size_t> active(n_requests);
  for (size_t i = 0; i < n_requests; ++i) active[i] = i;
  std::vector<int32_t> next(n_requests);
  const int64_t vocab = transformer.vocab_size();
  start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < options.n_predict; ++step) {
    std::vector<size_t> still_active;
    for (size_t j = 0; j < active.size(); ++j) {
      const size_t request = active[j];
      const int32_t token = samplers[request].sample(std::span<const float>(logits.data() + j * vocab, vocab));
      results[request].tokens.push_back(token);
      ++timings.generated_tokens;
      if (on_token) on_token(request, tokenizer.token_bytes(token));
      next[request] = token;
      if (!(options.stop_at_eos && token == tokenizer.eos_id())) still_active.push_back(request);
    }
    active = std::move(still_active);
    if (step + 1 == options.n_predict || !sync(!active.empty())) break;
    batch.clear();
    for (size_t request : active) batch.push_back({std::span<const int32_t>(&next[request], 1), &caches[request], false});
    transformer.forward(batch, logits);
  }
  timings.decode_seconds = seconds_since(start);
  for (GenerationResult& result : results) result.text = tokenizer.decode(result.tokens);
  return results;
}

}  // namespace moe::runtime
