// POST /v1/chat/completions: the messages rendered by the chat template become n Choices in the
// scheduler, answered whole ("chat.completion") or streamed ("chat.completion.chunk" events: each
// choice's role first, then its text as it comes; choices_answer.h), with chat's logprobs when
// asked.
#include <memory>

#include "serve/chat_request.h"
#include "serve/chat_response.h"
#include "serve/choices_answer.h"
#include "serve/logprobs_json.h"

namespace moe::serve {

namespace {

// The logprobs of some tokens in chat's shape, or null when the request did not ask.
Json logprobs_of(const CompletionRequest& request, std::span<const runtime::Logprobs> entries,
                 const tokenizer::Tokenizer& tokenizer) {
  if (!request.params.logprobs) return nullptr;
  return chat_logprobs_json(entries, tokenizer);
}

void answer_whole(httplib::Response& response, const ClientConnection& client, Choices& choices,
                  const CompletionRequest& request, const ServeContext& context, const CompletionIdentity& identity) {
  const ChoicesResult result = wait_for_choices(client, choices);
  Json out = Json::array();
  for (int64_t index = 0; index < choices.size(); ++index)
    out.push_back(chat_choice_json(index, result.texts[index],
                                   logprobs_of(request, result.logprobs[index], *context.model.tokenizer),
                                   result.reasons[index]));
  const auto n_prompt = static_cast<int64_t>(request.params.prompt.size());
  send_json(response, 200,
            chat_completion_json(identity, std::move(out), usage_json(n_prompt, result.completion_tokens)));
}

void answer_stream(httplib::Response& response, const ClientConnection& client, const ServeContext& context,
                   std::shared_ptr<Choices> choices, std::shared_ptr<const CompletionRequest> request,
                   const CompletionIdentity& identity) {
  const tokenizer::Tokenizer* tokenizer = context.model.tokenizer;
  const int64_t n = choices->size();
  ChunkShapes shapes;
  shapes.prelude = [=] {
    std::string out;
    for (int64_t index = 0; index < n; ++index)
      out += sse_event(chat_role_chunk_json(identity, index, request->include_usage));
    return out;
  };
  shapes.chunk = [=](int64_t index, const GenerationUpdate& update) {
    return chat_chunk_json(identity, index, update.text, logprobs_of(*request, update.logprobs, *tokenizer),
                           update.finish_reason, request->include_usage);
  };
  shapes.usage_chunk = [=](const Json& usage) { return chat_usage_chunk_json(identity, usage); };
  stream_choices(response, client, *context.streams, std::move(choices), request->include_usage,
                 static_cast<int64_t>(request->params.prompt.size()), std::move(shapes));
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
