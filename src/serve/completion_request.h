// CompletionRequest: the body of POST /v1/completions read into typed fields and checked against
// the served model (its name, vocabulary, context length and --max-num-seqs). The fields that
// every generating endpoint shares (sampling, penalties, stop, n, stream) are read by functions
// that /v1/chat/completions calls too. `suffix`, several prompts, best_of > n, and echo with
// logprobs are a 400, never silently ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "serve/generation.h"
#include "tokenizer/tokenizer.h"

namespace moe::serve {

// What a request is checked against.
struct ServedModel {
  std::string name;                                 // --served-model-name: the only "model" accepted
  const tokenizer::Tokenizer* tokenizer = nullptr;  // encodes prompts
  int64_t context = 0;                              // prompt + max_tokens at most; 0: unknown, unchecked
  int64_t max_n = 0;                                // n at most (--max-num-seqs); 0: unchecked
};

struct CompletionRequest {
  GenerationParams params;          // prompt as token ids, sampler with choice 0's seed (choice i: seed + i)
  int64_t n = 1;                    // choices
  std::optional<std::string> echo;  // the prompt's text, which each choice's text begins with
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// Throws ApiError (400) naming the field at fault.
CompletionRequest parse_completion_request(const std::string& body, const ServedModel& model);

// The shared fields, each a 400 naming it when malformed. Reads into `params`: max_tokens or its
// alias max_completion_tokens (params.max_tokens kept when neither is given), temperature, top_p,
// top_k, min_p, seed (random when unset), presence_penalty, frequency_penalty, repetition_penalty,
// logit_bias, ignore_eos and stop.
void read_generation_fields(const nlohmann::json& object, const ServedModel& model, GenerationParams& params);
// n (default 1, at most model.max_n) and best_of, which must equal it when given.
int64_t read_n(const nlohmann::json& object, const ServedModel& model);
// stream and stream_options.include_usage.
void read_stream_fields(const nlohmann::json& object, bool& stream, bool& include_usage);
// A 400 unless "model" is absent or the served name.
void check_model_name(const nlohmann::json& object, const ServedModel& model);
// A 400 (param "prompt") when the prompt and max_tokens exceed the model's context.
void check_context(const GenerationParams& params, const ServedModel& model);

}  // namespace moe::serve
