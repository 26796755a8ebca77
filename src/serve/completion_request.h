// CompletionRequest: the body of POST /v1/completions read into typed fields and checked against
// the served model (its name, vocabulary and context length). The fields this server does not
// implement yet (n > 1, best_of, echo, suffix, logprobs, penalties, logit_bias, several prompts)
// are a 400 when set to anything but their neutral value, never silently ignored.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// What every generating endpoint reads around its own prompt: the model's name, the fields not
// implemented, max_tokens (or max_completion_tokens; unset: `default_max_tokens`, or with none the
// rest of the context), the sampling fields, stop, ignore_eos, stream and stream_options; then the
// prompt and max_tokens are checked against the context. `read_prompt` makes the prompt's ids.
using PromptReader = std::function<std::vector<int32_t>(const nlohmann::json& object)>;
CompletionRequest parse_generation_request(const nlohmann::json& object, const ServedModel& model,
                                           const PromptReader& read_prompt, std::optional<int64_t> default_max_tokens);

}  // namespace moe::serve
