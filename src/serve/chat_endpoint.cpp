// POST /v1/chat/completions: the messages rendered by the chat template become one Generation,
// answered whole ("chat.completion") or streamed ("chat.completion.chunk" events: the role first,
// then the text as it comes). A client that closes the connection cancels its request.
#include <chrono>
#include <memory>

#include "serve/api_error.h"
#include "serve/chat_request.h"
#include "serve/chat_response.h"
#include "serve/client_connection.h"
#include "serve/endpoints.h"

namespace moe::serve {

namespace {

// How often a waiting handler looks whether its client left.
constexpr std::chrono::milliseconds kPoll{100};

void answer_whole(httplib::Response& response, const ClientConnection& client, Generation& generation,
                  const CompletionIdentity& identity, int64_t n_prompt) {
  std::string text;
  for (;;) {
    GenerationUpdate update = generation.take(kPoll);
    text += update.text;
    if (update.error) throw ApiError(500, *update.error);
    if (update.finish_reason) {
      const Json usage = usage_json(n_prompt, update.completion_tokens);
      send_json(response, 200, chat_completion_json(identity, text, *update.finish_reason, usage));
      return;
    }
    if (client.closed()) {
      generation.cancel();
      throw ApiError(500, "the client closed the connection");
    }
  }
}

void answer_stream(httplib::Response& response, const ClientConnection& client, OpenStreams& streams,
                   std::shared_ptr<Generation> generation, const CompletionIdentity& identity, int64_t n_prompt,
                   bool include_usage) {
  response.set_header("Cache-Control", "no-cache");
  auto role_sent = std::make_shared<bool>(false);
  const auto provider = [=](size_t, httplib::DataSink& sink) {
    if (!*role_sent) {  // at once, before the first token
      *role_sent = true;
      const std::string first = sse_event(chat_role_chunk_json(identity, include_usage));
      return sink.write(first.data(), first.size());
    }
    const GenerationUpdate update = generation->take(kPoll);
    std::string out;
    if (update.error) {
      out = sse_event(ApiError(500, *update.error).body());
    } else if (!update.text.empty() || update.finish_reason) {
      out = sse_event(chat_chunk_json(identity, update.text, update.finish_reason, include_usage));
      if (update.finish_reason && include_usage)
        out += sse_event(chat_usage_chunk_json(identity, usage_json(n_prompt, update.completion_tokens)));
    } else {
      return !client.closed();  // nothing new: false ends a connection whose client left
    }
    if (update.done()) out += kSseDone;
    if (!sink.write(out.data(), out.size())) return false;
    if (update.done()) sink.done();
    return true;
  };
  // Called when the response ends, sent or not; cancelling a finished request does nothing.
  const auto release = [generation, &streams](bool) {
    generation->cancel();
    streams.remove();
  };
  streams.add();
  response.set_chunked_content_provider("text/event-stream", provider, release);
}

}  // namespace

void add_chat_endpoint(httplib::Server& server, const ServeContext& context) {
  server.Post("/v1/chat/completions", [&context](const httplib::Request& request, httplib::Response& response) {
    respond(response, [&] {
      CompletionRequest parsed = parse_chat_request(request.body, context.model, *context.chat);
      const auto n_prompt = static_cast<int64_t>(parsed.params.prompt.size());
      const CompletionIdentity identity = new_chat_identity(context.model.name);
      const ClientConnection client(request);
      std::shared_ptr<Generation> generation = context.scheduler->submit(std::move(parsed.params));
      if (parsed.stream)
        answer_stream(response, client, *context.streams, generation, identity, n_prompt, parsed.include_usage);
      else
        answer_whole(response, client, *generation, identity, n_prompt);
    });
  });
}

}  // namespace moe::serve
