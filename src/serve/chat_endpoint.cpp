// POST /v1/chat/completions: the messages rendered by the chat template become n Choices in the
// scheduler, answered whole ("chat.completion") or streamed ("chat.completion.chunk" events: each
// choice's role first, then its text as it comes, chunks of different choices interleaved). A
// client that closes the connection cancels its request.
#include <chrono>
#include <memory>

#include "serve/api_error.h"
#include "serve/chat_request.h"
#include "serve/chat_response.h"
#include "serve/choices.h"
#include "serve/client_connection.h"
#include "serve/endpoints.h"
#include "serve/logprobs_json.h"

namespace moe::serve {

namespace {

// How often a waiting handler looks whether its client left.
constexpr std::chrono::milliseconds kPoll{100};

// The logprobs of some tokens in chat's shape, or null when the request did not ask.
Json logprobs_of(const CompletionRequest& request, std::span<const runtime::Logprobs> entries,
                 const tokenizer::Tokenizer& tokenizer) {
  if (!request.params.logprobs) return nullptr;
  return chat_logprobs_json(entries, tokenizer);
}

void answer_whole(httplib::Response& response, const ClientConnection& client, Choices& choices,
                  const CompletionRequest& request, const ServeContext& context, const CompletionIdentity& identity) {
  const int64_t n = choices.size();
  std::vector<std::string> texts(n), reasons(n);
  std::vector<std::vector<runtime::Logprobs>> logprobs(n);
  int64_t completion_tokens = 0;
  while (!choices.all_ended()) {
    if (client.closed()) {
      choices.cancel();
      throw ApiError(500, "the client closed the connection");
    }
    std::vector<GenerationUpdate> updates = choices.take(kPoll);
    for (int64_t index = 0; index < n; ++index) {
      GenerationUpdate& update = updates[index];
      if (update.error) {
        choices.cancel();
        throw ApiError(500, *update.error);
      }
      texts[index] += update.text;
      logprobs[index].insert(logprobs[index].end(), update.logprobs.begin(), update.logprobs.end());
      if (update.finish_reason) {
        reasons[index] = *update.finish_reason;
        completion_tokens += update.completion_tokens;
      }
    }
  }
  Json out = Json::array();
  for (int64_t index = 0; index < n; ++index)
    out.push_back(chat_choice_json(index, texts[index], logprobs_of(request, logprobs[index], *context.model.tokenizer),
                                   reasons[index]));
  const auto n_prompt = static_cast<int64_t>(request.params.prompt.size());
  send_json(response, 200, chat_completion_json(identity, std::move(out), usage_json(n_prompt, completion_tokens)));
}

void answer_stream(httplib::Response& response, const ClientConnection& client, const ServeContext& context,
                   std::shared_ptr<Choices> choices, std::shared_ptr<const CompletionRequest> request,
                   const CompletionIdentity& identity) {
  response.set_header("Cache-Control", "no-cache");
  auto completion_tokens = std::make_shared<std::vector<int64_t>>(choices->size(), 0);
  auto roles_sent = std::make_shared<bool>(false);
  const tokenizer::Tokenizer* tokenizer = context.model.tokenizer;
  const auto provider = [=](size_t, httplib::DataSink& sink) {
    std::string out;
    if (!*roles_sent) {  // at once, before the first token
      for (int64_t index = 0; index < choices->size(); ++index)
        out += sse_event(chat_role_chunk_json(identity, index, request->include_usage));
      *roles_sent = true;
    }
    const std::vector<GenerationUpdate> updates = choices->take(out.empty() ? kPoll : std::chrono::milliseconds(0));
    bool failed = false;
    for (int64_t index = 0; index < choices->size() && !failed; ++index) {
      const GenerationUpdate& update = updates[index];
      if (update.error) {
        out += sse_event(ApiError(500, *update.error).body());
        failed = true;
      } else if (!update.text.empty() || !update.logprobs.empty() || update.finish_reason) {
        if (update.finish_reason) (*completion_tokens)[index] = update.completion_tokens;
        out +=
            sse_event(chat_chunk_json(identity, index, update.text, logprobs_of(*request, update.logprobs, *tokenizer),
                                      update.finish_reason, request->include_usage));
      }
    }
    const bool done = failed || choices->all_ended();
    if (done && !failed && request->include_usage) {
      int64_t total = 0;
      for (const int64_t tokens : *completion_tokens) total += tokens;
      const auto n_prompt = static_cast<int64_t>(request->params.prompt.size());
      out += sse_event(chat_usage_chunk_json(identity, usage_json(n_prompt, total)));
    }
    if (out.empty()) return !client.closed();  // nothing new: false ends a connection whose client left
    if (done) out += kSseDone;
    if (!sink.write(out.data(), out.size())) return false;
    if (done) sink.done();
    return true;
  };
  // Called when the response ends, sent or not; cancelling finished requests does nothing.
  OpenStreams& streams = *context.streams;
  const auto release = [choices, &streams](bool) {
    choices->cancel();
    streams.remove();
  };
  streams.add();
  response.set_chunked_content_provider("text/event-stream", provider, release);
}

}  // namespace

void add_chat_endpoint(httplib::Server& server, const ServeContext& context) {
  server.Post("/v1/chat/completions", [&context](const httplib::Request& request, httplib::Response& response) {
    respond(response, [&] {
      auto parsed =
          std::make_shared<const CompletionRequest>(parse_chat_request(request.body, context.model, *context.chat));
      const CompletionIdentity identity = new_chat_identity(context.model.name);
      const ClientConnection client(request);
      auto choices = std::make_shared<Choices>(*context.scheduler, parsed->params, parsed->n);
      if (parsed->stream)
        answer_stream(response, client, context, choices, parsed, identity);
      else
        answer_whole(response, client, *choices, *parsed, context, identity);
    });
  });
}

}  // namespace moe::serve
