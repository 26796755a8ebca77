// How a generating endpoint answers its n Choices, whatever the body's shape: waiting for all of
// them (a whole answer), or streaming them as server-sent events, chunks of different choices
// interleaved as they come, a usage chunk when asked, then `data: [DONE]`. A client that leaves
// cancels its choices. The endpoint supplies only its JSON shapes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <httplib.h>

#include "serve/choices.h"
#include "serve/client_connection.h"
#include "serve/endpoints.h"

namespace moe::serve {

// Every choice's whole text, logprobs and finish_reason, and their completion tokens.
struct ChoicesResult {
  std::vector<std::string> texts;
  std::vector<std::vector<runtime::Logprobs>> logprobs;
  std::vector<std::string> reasons;
  int64_t completion_tokens = 0;
};

// Waits until every choice ended; throws ApiError 500 when one failed or the client left
// (cancelling the others).
ChoicesResult wait_for_choices(const ClientConnection& client, Choices& choices);

struct ChunkShapes {
  // Events sent once, before any token (chat's role chunks, an echoed prompt); may be empty.
  std::function<std::string()> prelude;
  // The chunk of choice `index` for what it produced since the last one.
  std::function<Json(int64_t index, const GenerationUpdate& update)> chunk;
  // The usage chunk, after every choice ended, when stream_options.include_usage.
  std::function<Json(const Json& usage)> usage_chunk;
};

void stream_choices(httplib::Response& response, const ClientConnection& client, OpenStreams& streams,
                    std::shared_ptr<Choices> choices, bool include_usage, int64_t n_prompt, ChunkShapes shapes);

}  // namespace moe::serve
