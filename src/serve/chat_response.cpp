// The chat completion bodies, field for field as OpenAI's API and vLLM write them.
#include "serve/chat_response.h"

namespace moe::serve {

namespace {

Json head(const CompletionIdentity& identity, const char* object) {
  return {{"id", identity.id}, {"object", object}, {"created", identity.created}, {"model", identity.model}};
}

Json chunk(const CompletionIdentity& identity, int64_t index, Json delta, Json logprobs,
           const std::optional<std::string>& finish_reason, bool include_usage) {
  Json out = head(identity, "chat.completion.chunk");
  Json choice = {
      {"index", index}, {"delta", std::move(delta)}, {"logprobs", std::move(logprobs)}, {"finish_reason", nullptr}};
  if (finish_reason) choice["finish_reason"] = *finish_reason;
  out["choices"] = Json::array({choice});
  if (include_usage) out["usage"] = nullptr;
  return out;
}

}  // namespace

CompletionIdentity new_chat_identity(const std::string& model) {
  CompletionIdentity identity = new_completion_identity(model);
  identity.id = "chat" + identity.id;  // "cmpl-..." -> "chatcmpl-..."
  return identity;
}

Json chat_choice_json(int64_t index, const std::string& text, Json logprobs, const std::string& finish_reason) {
  const Json message = {{"role", "assistant"}, {"content", text}};
  return {{"index", index}, {"message", message}, {"logprobs", std::move(logprobs)}, {"finish_reason", finish_reason}};
}

Json chat_completion_json(const CompletionIdentity& identity, Json choices, const Json& usage) {
  Json out = head(identity, "chat.completion");
  out["choices"] = std::move(choices);
  out["usage"] = usage;
  return out;
}

Json chat_role_chunk_json(const CompletionIdentity& identity, int64_t index, bool include_usage) {
  return chunk(identity, index, {{"role", "assistant"}, {"content", ""}}, nullptr, std::nullopt, include_usage);
}

Json chat_chunk_json(const CompletionIdentity& identity, int64_t index, const std::string& text, Json logprobs,
                     const std::optional<std::string>& finish_reason, bool include_usage) {
  Json delta = Json::object();
  if (!text.empty() || !finish_reason) delta["content"] = text;
  return chunk(identity, index, std::move(delta), std::move(logprobs), finish_reason, include_usage);
}

Json chat_usage_chunk_json(const CompletionIdentity& identity, const Json& usage) {
  Json out = head(identity, "chat.completion.chunk");
  out["choices"] = Json::array();
  out["usage"] = usage;
  return out;
}

}  // namespace moe::serve
