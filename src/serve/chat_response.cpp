// The chat completion bodies, field for field as OpenAI's API and vLLM write them.
#include "serve/chat_response.h"

namespace moe::serve {

namespace {

Json head(const CompletionIdentity& identity, const char* object) {
  return {{"id", identity.id}, {"object", object}, {"created", identity.created}, {"model", identity.model}};
}

Json chunk(const CompletionIdentity& identity, Json delta, const std::optional<std::string>& finish_reason,
           bool include_usage) {
  Json out = head(identity, "chat.completion.chunk");
  Json choice = {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
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

Json chat_completion_json(const CompletionIdentity& identity, const std::string& text, const std::string& finish_reason,
                          const Json& usage) {
  Json out = head(identity, "chat.completion");
  const Json message = {{"role", "assistant"}, {"content", text}};
  out["choices"] =
      Json::array({{{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", finish_reason}}});
  out["usage"] = usage;
  return out;
}

Json chat_role_chunk_json(const CompletionIdentity& identity, bool include_usage) {
  return chunk(identity, {{"role", "assistant"}, {"content", ""}}, std::nullopt, include_usage);
}

Json chat_chunk_json(const CompletionIdentity& identity, const std::string& text,
                     const std::optional<std::string>& finish_reason, bool include_usage) {
  Json delta = Json::object();
  if (!text.empty() || !finish_reason) delta["content"] = text;
  return chunk(identity, std::move(delta), finish_reason, include_usage);
}

Json chat_usage_chunk_json(const CompletionIdentity& identity, const Json& usage) {
  Json out = head(identity, "chat.completion.chunk");
  out["choices"] = Json::array();
  out["usage"] = usage;
  return out;
}

}  // namespace moe::serve
