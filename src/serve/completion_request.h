// CompletionRequest: the body of POST /v1/completions read into typed fields and checked against
// the served model (its name, vocabulary and context length). The fields this server does not
// implement yet (n > 1, best_of, echo, suffix, logprobs, penalties, logit_bias, several prompts)
// are a 400 when set to anything but their neutral value, never silently ignored.
#pragma once

#include <cstdint>
#include <string>

#include "serve/generation.h"
#include "tokenizer/tokenizer.h"

namespace moe::serve {

// What a request is checked against.
struct ServedModel {
  std::string name;                                 // --served-model-name: the only "model" accepted
  const tokenizer::Tokenizer* tokenizer = nullptr;  // encodes prompts
  int64_t context = 0;                              // prompt + max_tokens at most; 0: unknown, unchecked
};

struct CompletionRequest {
  GenerationParams params;  // prompt as token ids, sampler with its seed
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// Throws ApiError (400) naming the field at fault.
CompletionRequest parse_completion_request(const std::string& body, const ServedModel& model);

}  // namespace moe::serve
