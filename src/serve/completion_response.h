// The bodies of POST /v1/completions in OpenAI's shape: the whole response, the SSE chunks of a
// streamed one (text chunks of each choice, the last of each with its finish_reason, then a usage
// chunk when asked) and the usage object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "serve/json.h"

namespace moe::serve {

// What every body of one response shares.
struct CompletionIdentity {
  std::string id;  // "cmpl-..."
  int64_t created = 0;
  std::string model;
};

CompletionIdentity new_completion_identity(const std::string& model);

Json usage_json(int64_t prompt_tokens, int64_t completion_tokens);

// One choice: {"index", "text", "logprobs", "finish_reason"} (null until finished).
Json completion_choice_json(int64_t index, const std::string& text, const Json& logprobs,
                            const std::optional<std::string>& finish_reason);

Json completion_json(const CompletionIdentity& identity, Json choices, const Json& usage);

// One streamed chunk of one choice; "usage": null on every chunk when the client asked for a usage chunk.
Json completion_chunk_json(const CompletionIdentity& identity, Json choice, bool include_usage);

// The last chunk when include_usage: no choices, the usage.
Json usage_chunk_json(const CompletionIdentity& identity, const Json& usage);

// `data: <json>\n\n`.
std::string sse_event(const Json& data);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace moe::serve
