// Text generation for one prompt: the prompt in one batched forward pass, then token-by-token
// decode with the KV cache, streaming each token's bytes to a callback.
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
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

GenerationResult generate(model::Transformer& transformer, const tokenizer::Tokenizer& tokenizer,
                          const std::vector<int32_t>& prompt_tokens, const GenerationOptions& options,
                          const std::function<void(const std::string&)>& on_token = {});

}  // namespace moe::runtime
