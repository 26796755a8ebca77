// POST /v1/completions: the body becomes one Generation in the scheduler; the handler thread waits
// for its text and answers with the whole completion or streams it as server-sent events. A client
// that closes the connection cancels its request.
#include <chrono>
#include <memory>

#include "serve/api_error.h"
#include "serve/client_connection.h"
#include "serve/completion_response.h"
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
      send_json(response, 200, completion_json(identity, text, *update.finish_reason, usage));
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
  const auto provider = [=](size_t, httplib::DataSink& sink) {
    const GenerationUpdate update = generation->take(kPoll);
    std::string out;
    if (update.error) {
      out = sse_event(ApiError(500, *update.error).body());
    } else if (!update.text.empty() || update.finish_reason) {
      out = sse_event(completion_chunk_json(identity, update.text, update.finish_reason, include_usage));
      if (update.finish_reason && include_usage)
        out += sse_event(usage_chunk_json(identity, usage_json(n_prompt, update.completion_tokens)));
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

void add_completions_endpoint(httplib::Server& server, const ServeContext& context) {
  server.Post("/v1/completions", [&context](const httplib::Request& request, httplib::Response& response) {
    respond(response, [&] {
      CompletionRequest parsed = parse_completion_request(request.body, context.model);
      const auto n_prompt = static_cast<int64_t>(parsed.params.prompt.size());
      const CompletionIdentity identity = new_completion_identity(context.model.name);
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
