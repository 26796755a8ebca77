// Token log-probabilities in OpenAI's two response shapes: the legacy object of /v1/completions
// and the content list of /v1/chat/completions. Token texts are each token's bytes as valid UTF-8.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/sampler.h"
#include "serve/json.h"
#include "tokenizer/tokenizer.h"

namespace moe::serve {

// {"tokens", "token_logprobs", "top_logprobs": [{text: logprob}], "text_offset"} of `entries`:
// each top_logprobs dict holds the top N and the chosen token, as vLLM's (tokens of one text share
// a key, the chosen token's logprob under its text). `text_offset` is the
// first token's offset in the choice's text (in code points, as Python's len); it is advanced past
// the tokens, so that the chunks of a stream continue the offsets.
Json completion_logprobs_json(std::span<const runtime::Logprobs> entries, const tokenizer::Tokenizer& tokenizer,
                              int64_t& text_offset);

// {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}]}.
Json chat_logprobs_json(std::span<const runtime::Logprobs> entries, const tokenizer::Tokenizer& tokenizer);

}  // namespace moe::serve
