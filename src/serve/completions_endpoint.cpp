// POST /v1/completions: the body becomes n Choices in the scheduler; the handler thread waits for
// their text and answers with the whole completion or streams it as server-sent events, chunks of
// different choices interleaved as they come. A client that closes the connection cancels its
// request.
#include <chrono>
#include <memory>

#include "serve/api_error.h"
#include "serve/choices.h"
#include "serve/client_connection.h"
#include "serve/completion_response.h"
#include "serve/endpoints.h"
#include "serve/logprobs_json.h"

namespace moe::serve {

namespace {

// How often a waiting handler looks whether its client left.
constexpr std::chrono::milliseconds kPoll{100};

// What a response has written of each choice so far.
struct ChoiceState {
  int64_t text_offset = 0;  // code points of text before the next token (logprobs' text_offset)
  int64_t completion_tokens = 0;
};

// The logprobs of an update (null when the request did not ask), continuing the choice's offsets.
Json logprobs_of(const CompletionRequest& request, const GenerationUpdate& update,
                 const tokenizer::Tokenizer& tokenizer, ChoiceState& state) {
  if (!request.params.logprobs) return nullptr;
  return completion_logprobs_json(update.logprobs, tokenizer, state.text_offset);
}

void answer_whole(httplib::Response& response, const ClientConnection& client, Choices& choices,
                  const CompletionRequest& request, const ServeContext& context, const CompletionIdentity& identity) {
  const int64_t n = choices.size();
  std::vector<std::string> texts(n, request.echo.value_or(""));
  std::vector<std::vector<runtime::Logprobs>> logprobs(n);
  std::vector<std::string> reasons(n);
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
  for (int64_t index = 0; index < n; ++index) {
    GenerationUpdate all;
    all.logprobs = std::move(logprobs[index]);
    ChoiceState state;
    out.push_back(completion_choice_json(index, texts[index],
                                         logprobs_of(request, all, *context.model.tokenizer, state), reasons[index]));
  }
  const auto n_prompt = static_cast<int64_t>(request.params.prompt.size());
  send_json(response, 200, completion_json(identity, std::move(out), usage_json(n_prompt, completion_tokens)));
}

void answer_stream(httplib::Response& response, const ClientConnection& client, const ServeContext& context,
                   std::shared_ptr<Choices> choices, std::shared_ptr<const CompletionRequest> request,
                   const CompletionIdentity& identity) {
  response.set_header("Cache-Control", "no-cache");
  auto states = std::make_shared<std::vector<ChoiceState>>(choices->size());
  auto echoed = std::make_shared<bool>(!request->echo);
  const tokenizer::Tokenizer* tokenizer = context.model.tokenizer;
  const auto provider = [=](size_t, httplib::DataSink& sink) {
    std::string out;
    if (!*echoed) {  // the prompt first, as vLLM streams an echo
      for (int64_t index = 0; index < choices->size(); ++index)
        out += sse_event(completion_chunk_json(
            identity, completion_choice_json(index, *request->echo, nullptr, std::nullopt), request->include_usage));
      *echoed = true;
    }
    const std::vector<GenerationUpdate> updates = choices->take(out.empty() ? kPoll : std::chrono::milliseconds(0));
    bool failed = false;
    for (int64_t index = 0; index < choices->size() && !failed; ++index) {
      const GenerationUpdate& update = updates[index];
      ChoiceState& state = (*states)[index];
      if (update.error) {
        out += sse_event(ApiError(500, *update.error).body());
        failed = true;
      } else if (!update.text.empty() || !update.logprobs.empty() || update.finish_reason) {
        if (update.finish_reason) state.completion_tokens = update.completion_tokens;
        const Json logprobs = logprobs_of(*request, update, *tokenizer, state);
        out += sse_event(
            completion_chunk_json(identity, completion_choice_json(index, update.text, logprobs, update.finish_reason),
                                  request->include_usage));
      }
    }
    const bool done = failed || choices->all_ended();
    if (done && !failed && request->include_usage) {
      int64_t completion_tokens = 0;
      for (const ChoiceState& state : *states) completion_tokens += state.completion_tokens;
      const auto n_prompt = static_cast<int64_t>(request->params.prompt.size());
      out += sse_event(usage_chunk_json(identity, usage_json(n_prompt, completion_tokens)));
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

void add_completions_endpoint(httplib::Server& server, const ServeContext& context) {
  server.Post("/v1/completions", [&context](const httplib::Request& request, httplib::Response& response) {
    respond(response, [&] {
      auto parsed = std::make_shared<const CompletionRequest>(parse_completion_request(request.body, context.model));
      const CompletionIdentity identity = new_completion_identity(context.model.name);
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
