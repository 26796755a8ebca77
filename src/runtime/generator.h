// Text generation for one prompt or many: all prompts in one batched forward pass, then
// token-by-token decode of every unfinished request together, each with its own KV cache and
// sampler (seed + request index), streaming each token's bytes to a callback.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/transformer.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace moe::runtime {

struct GenerationOptions {
  int64_t n_predict = 64;
  SamplerOptions sampler;
  bool stop_at_eos = true;
};

struct GenerationResult {
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;  // generated
  std::string text;             // decoded generated tokens
};

struct GenerationTimings {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// on_token(request index, bytes of the token) is called as tokens are chosen.
std::vector<GenerationResult> generate(model::Transformer& transformer, const tokenizer::Tokenizer& tokenizer,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       const GenerationOptions& options, GenerationTimings& timings,
                                       const std::function<void(size_t, const std::string&)>& on_token = {});

}  // namespace moe::runtime
