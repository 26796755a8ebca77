// The bodies of POST /v1/chat/completions in OpenAI's shape: "chat.completion" with the assistant
// message, and the "chat.completion.chunk" events of a stream (the role first with empty content,
// then content deltas, the finish_reason once on the last choice chunk, then a usage chunk when
// asked).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "serve/completion_response.h"
#include "serve/json.h"

namespace moe::serve {

// An identity whose id is "chatcmpl-...".
CompletionIdentity new_chat_identity(const std::string& model);

// One choice of a whole answer: {"index", "message": {"role": "assistant", "content"}, "logprobs",
// "finish_reason"}; logprobs null or chat_logprobs_json's object.
Json chat_choice_json(int64_t index, const std::string& text, Json logprobs, const std::string& finish_reason);
Json chat_completion_json(const CompletionIdentity& identity, Json choices, const Json& usage);

// The first chunk of choice `index`: delta {"role": "assistant", "content": ""}.
Json chat_role_chunk_json(const CompletionIdentity& identity, int64_t index, bool include_usage);
// A content chunk of choice `index` (delta {"content"}), or its last one with its finish_reason
// (delta {} when no text is left). "usage": null on each when include_usage.
Json chat_chunk_json(const CompletionIdentity& identity, int64_t index, const std::string& text, Json logprobs,
                     const std::optional<std::string>& finish_reason, bool include_usage);
// The last chunk when include_usage: no choices, the usage.
Json chat_usage_chunk_json(const CompletionIdentity& identity, const Json& usage);

}  // namespace moe::serve
