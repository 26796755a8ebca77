// CompletionRequest: OpenAI's completion fields (with vLLM's top_k and ignore_eos) to
// GenerationParams. Defaults are OpenAI's: max_tokens 16, temperature 1, top_p 1, no top-k cut,
// a random seed when none is given.
#include "serve/completion_request.h"

#include <limits>
#include <random>

#include "serve/api_error.h"
#include "serve/request_fields.h"

namespace moe::serve {

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kDefaultMaxTokens = 16;  // OpenAI's for completions

// The prompt: a string, token ids, or a list holding exactly one of those.
std::vector<int32_t> read_prompt(const nlohmann::json& object, const ServedModel& model) {
  const auto it = object.find("prompt");
  if (it == object.end() || it->is_null()) throw bad_field("prompt", "is required");
  const nlohmann::json* prompt = &*it;
  if (prompt->is_array() && !prompt->empty() && (prompt->front().is_string() || prompt->front().is_array())) {
    if (prompt->size() != 1) throw bad_field("prompt", "only one prompt per request is supported");
    prompt = &prompt->front();
  }
  std::vector<int32_t> ids;
  if (prompt->is_string()) {
    const tokenizer::Tokenizer& tok = *model.tokenizer;
    ids = tok.encode(prompt->get<std::string>(), tok.vocab().add_bos);
  } else if (prompt->is_array()) {
    ids = token_ids(*prompt, "prompt", model.tokenizer->n_vocab());
  } else {
    throw bad_field("prompt", "must be a string, an array of token ids, or a list of one of those");
  }
  if (ids.empty()) throw bad_field("prompt", "is empty");
  return ids;
}

std::vector<std::string> read_stop(const nlohmann::json& object) {
  const auto it = object.find("stop");
  if (it == object.end() || it->is_null()) return {};
  std::vector<std::string> stop;
  if (it->is_string()) {
    stop.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const nlohmann::json& s : *it) {
      if (!s.is_string()) throw bad_field("stop", "must be a string or an array of strings");
      stop.push_back(s.get<std::string>());
    }
  } else {
    throw bad_field("stop", "must be a string or an array of strings");
  }
  for (const std::string& s : stop)
    if (s.empty()) throw bad_field("stop", "stop strings must not be empty");
  return stop;
}

// 400 for a field this server does not implement, unless it holds its neutral value.
void reject_unsupported(const nlohmann::json& object) {
  const auto set = [&](const char* key) {
    const auto it = object.find(key);
    return it != object.end() && !it->is_null() ? &*it : nullptr;
  };
  const auto unsupported = [](const char* key) { return bad_field(key, "is not supported by this server yet"); };
  for (const char* key : {"n", "best_of"})
    if (const nlohmann::json* v = set(key); v && *v != 1) throw unsupported(key);
  for (const char* key : {"presence_penalty", "frequency_penalty"})
    if (const nlohmann::json* v = set(key); v && *v != 0) throw unsupported(key);
  if (const nlohmann::json* v = set("echo"); v && *v != false) throw unsupported("echo");
  if (const nlohmann::json* v = set("logit_bias"); v && !v->empty()) throw unsupported("logit_bias");
  for (const char* key : {"suffix", "logprobs"})
    if (set(key)) throw unsupported(key);
}

}  // namespace

CompletionRequest parse_generation_request(const nlohmann::json& object, const ServedModel& model,
                                           const PromptReader& read_prompt_ids,
                                           std::optional<int64_t> default_max_tokens) {
  if (const std::optional<std::string> name = get_string(object, "model"); name && *name != model.name)
    throw ApiError(400, "the model '" + *name + "' does not exist; this server serves '" + model.name + "'", "model",
                   "model_not_found");
  reject_unsupported(object);

  CompletionRequest request;
  GenerationParams& params = request.params;
  params.prompt = read_prompt_ids(object);
  const auto n_prompt = static_cast<int64_t>(params.prompt.size());
  // max_completion_tokens is OpenAI's newer name; it wins, as in vLLM.
  const std::optional<int64_t> max_tokens = get_int(object, "max_tokens", 1, kIntMax);
  const std::optional<int64_t> max_completion_tokens = get_int(object, "max_completion_tokens", 1, kIntMax);
  params.max_tokens = max_completion_tokens.value_or(max_tokens.value_or(
      default_max_tokens.value_or(model.context > n_prompt ? model.context - n_prompt : kDefaultMaxTokens)));
  params.sampler.temperature = static_cast<float>(get_number(object, "temperature", 0, 2).value_or(1));
  params.sampler.top_p = static_cast<float>(get_number(object, "top_p", 0, 1).value_or(1));
  if (params.sampler.top_p <= 0) throw bad_field("top_p", "must be greater than 0");
  const int64_t top_k = get_int(object, "top_k", -1, kIntMax).value_or(0);
  params.sampler.top_k = top_k < 0 ? 0 : top_k;  // -1 (vLLM) and 0: no cut
  if (const std::optional<int64_t> seed = get_int(object, "seed", std::numeric_limits<int64_t>::min(), kIntMax))
    params.sampler.seed = static_cast<uint64_t>(*seed);
  else
    params.sampler.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  params.stop_at_eos = !get_bool(object, "ignore_eos").value_or(false);
  params.stop = read_stop(object);

  request.stream = get_bool(object, "stream").value_or(false);
  if (const auto it = object.find("stream_options"); it != object.end() && !it->is_null()) {
    if (!request.stream) throw bad_field("stream_options", "is allowed only when 'stream' is true");
    if (!it->is_object()) throw bad_field("stream_options", "must be an object");
    request.include_usage = get_bool(*it, "include_usage").value_or(false);
  }

  if (model.context > 0 && (n_prompt > model.context || params.max_tokens > model.context - n_prompt))
    throw ApiError(400,
                   "this model's maximum context length is " + std::to_string(model.context) +
                       " tokens, but the request needs " + std::to_string(n_prompt) + " in the prompt and " +
                       std::to_string(params.max_tokens) + " for the completion",
                   "prompt", "context_length_exceeded");
  return request;
}

CompletionRequest parse_completion_request(const std::string& body, const ServedModel& model) {
  return parse_generation_request(
      parse_object(body), model, [&](const nlohmann::json& object) { return read_prompt(object, model); },
      kDefaultMaxTokens);
}

}  // namespace moe::serve
