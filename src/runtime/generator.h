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

struct GenerationRequest {
  uint64_t id = 0;               // the request's index in the whole job: its sampler seed is seed + id
  std::vector<int32_t> prompt;
};

// Under a parallel layout the ranks that compute together call forward the same number of times
// even when some have no work left: any_active(local) answers whether any of them still has.
using StepSync = std::function<bool(bool local_active)>;

// on_token(position in `requests`, bytes of the token) is called as tokens are chosen.
std::vector<GenerationResult> generate(model::Transformer& transformer, const tokenizer::Tokenizer& tokenizer,
                                       const std::vector<GenerationRequest>& requests,
                                       const GenerationOptions& options, GenerationTimings& timings,
                                       const std::function<void(size_t, const std::string&)>& on_token = {},
                                       const StepSync& any_active = {});

}  // namespace moe::runtime
