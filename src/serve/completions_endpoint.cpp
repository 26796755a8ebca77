// POST /v1/completions: the body becomes n Choices in the scheduler, answered whole
// ("text_completion") or streamed (choices_answer.h), with the legacy logprobs object when asked
// and the prompt first when echoed.
#include <memory>

#include "serve/choices_answer.h"
#include "serve/completion_response.h"
#include "serve/logprobs_json.h"

namespace moe::serve {

namespace {

// The logprobs of some tokens (null when the request did not ask), continuing a choice's
// text_offset: the code points of its text before them.
Json logprobs_of(const CompletionRequest& request, std::span<const runtime::Logprobs> entries,
                 const tokenizer::Tokenizer& tokenizer, int64_t& text_offset) {
  if (!request.params.logprobs) return nullptr;
  return completion_logprobs_json(entries, tokenizer, text_offset);
}

void answer_whole(httplib::Response& response, const ClientConnection& client, Choices& choices,
                  const CompletionRequest& request, const ServeContext& context, const CompletionIdentity& identity) {
  const ChoicesResult result = wait_for_choices(client, choices);
  Json out = Json::array();
  for (int64_t index = 0; index < choices.size(); ++index) {
    int64_t text_offset = 0;
    out.push_back(completion_choice_json(
        index, request.echo.value_or("") + result.texts[index],
        logprobs_of(request, result.logprobs[index], *context.model.tokenizer, text_offset), result.reasons[index]));
  }
  const auto n_prompt = static_cast<int64_t>(request.params.prompt.size());
  send_json(response, 200, completion_json(identity, std::move(out), usage_json(n_prompt, result.completion_tokens)));
}

void answer_stream(httplib::Response& response, const ClientConnection& client, const ServeContext& context,
                   std::shared_ptr<Choices> choices, std::shared_ptr<const CompletionRequest> request,
                   const CompletionIdentity& identity) {
  auto text_offsets = std::make_shared<std::vector<int64_t>>(choices->size(), 0);
  const tokenizer::Tokenizer* tokenizer = context.model.tokenizer;
  const int64_t n = choices->size();
  ChunkShapes shapes;
  if (request->echo)  // the prompt first, as vLLM streams an echo
    shapes.prelude = [=] {
      std::string out;
      for (int64_t index = 0; index < n; ++index)
        out += sse_event(completion_chunk_json(
            identity, completion_choice_json(index, *request->echo, nullptr, std::nullopt), request->include_usage));
      return out;
    };
  shapes.chunk = [=](int64_t index, const GenerationUpdate& update) {
    const Json logprobs = logprobs_of(*request, update.logprobs, *tokenizer, (*text_offsets)[index]);
    return completion_chunk_json(identity, completion_choice_json(index, update.text, logprobs, update.finish_reason),
                                 request->include_usage);
  };
  shapes.usage_chunk = [=](const Json& usage) { return usage_chunk_json(identity, usage); };
  stream_choices(response, client, *context.streams, std::move(choices), request->include_usage,
                 static_cast<int64_t>(request->params.prompt.size()), std::move(shapes));
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
