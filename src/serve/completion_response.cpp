// The completion bodies: ids, timestamps, choices and usage as OpenAI writes them.
#include "serve/completion_response.h"

#include <chrono>
#include <cstdio>
#include <random>

namespace moe::serve {

CompletionIdentity new_completion_identity(const std::string& model) {
  std::random_device device;
  char id[40];
  std::snprintf(id, sizeof id, "cmpl-%08x%08x%08x%08x", device(), device(), device(), device());
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {id, std::chrono::duration_cast<std::chrono::seconds>(now).count(), model};
}

Json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

namespace {
Json head(const CompletionIdentity& identity) {
  return {{"id", identity.id}, {"object", "text_completion"}, {"created", identity.created}, {"model", identity.model}};
}
}  // namespace

Json completion_choice_json(int64_t index, const std::string& text, const Json& logprobs,
                            const std::optional<std::string>& finish_reason) {
  Json choice = {{"index", index}, {"text", text}, {"logprobs", logprobs}, {"finish_reason", nullptr}};
  if (finish_reason) choice["finish_reason"] = *finish_reason;
  return choice;
}

Json completion_json(const CompletionIdentity& identity, Json choices, const Json& usage) {
  Json out = head(identity);
  out["choices"] = std::move(choices);
  out["usage"] = usage;
  return out;
}

Json completion_chunk_json(const CompletionIdentity& identity, Json choice, bool include_usage) {
  Json out = head(identity);
  out["choices"] = Json::array({std::move(choice)});
  if (include_usage) out["usage"] = nullptr;
  return out;
}

Json usage_chunk_json(const CompletionIdentity& identity, const Json& usage) {
  Json out = head(identity);
  out["choices"] = Json::array();
  out["usage"] = usage;
  return out;
}

std::string sse_event(const Json& data) { return "data: " + dump_json(data) + "\n\n"; }

}  // namespace moe::serve
