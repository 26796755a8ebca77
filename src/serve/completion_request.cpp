// CompletionRequest: OpenAI's completion fields (with vLLM's top_k, min_p, repetition_penalty and
// ignore_eos) to GenerationParams. Defaults are OpenAI's: max_tokens 16, temperature 1, top_p 1,
// no top-k or min-p cut, no penalty, a random seed when none is given.
#include "serve/completion_request.h"

#include <charconv>
#include <limits>
#include <random>

#include "serve/api_error.h"
#include "serve/request_fields.h"

namespace moe::serve {

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxLogprobs = 20;  // vLLM's default --max-logprobs

// The prompt as ids, and its text when echo asks for it: a string, token ids, or a list holding
// exactly one of those.
std::vector<int32_t> read_prompt(const nlohmann::json& object, const ServedModel& model, std::string& text) {
  const auto it = object.find("prompt");
  if (it == object.end() || it->is_null()) throw bad_field("prompt", "is required");
  const nlohmann::json* prompt = &*it;
  if (prompt->is_array() && !prompt->empty() && (prompt->front().is_string() || prompt->front().is_array())) {
    if (prompt->size() != 1) throw bad_field("prompt", "only one prompt per request is supported");
    prompt = &prompt->front();
  }
  const tokenizer::Tokenizer& tok = *model.tokenizer;
  std::vector<int32_t> ids;
  if (prompt->is_string()) {
    text = prompt->get<std::string>();
    ids = tok.encode(text, tok.vocab().add_bos);
  } else if (prompt->is_array()) {
    ids = token_ids(*prompt, "prompt", tok.n_vocab());
    text = tok.decode(ids);
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

// {"token id": bias in [-100, 100]}, as OpenAI's.
std::vector<std::pair<int32_t, float>> read_logit_bias(const nlohmann::json& object, int32_t n_vocab) {
  const auto it = object.find("logit_bias");
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_object()) throw bad_field("logit_bias", "must be an object of token ids to biases");
  std::vector<std::pair<int32_t, float>> bias;
  for (const auto& [key, value] : it->items()) {
    int64_t id = -1;
    const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (error != std::errc() || end != key.data() + key.size() || id < 0 || id >= n_vocab)
      throw bad_field("logit_bias", "key '" + key + "' is not a token id in [0, " + std::to_string(n_vocab) + ")");
    if (!value.is_number() || value.get<double>() < -100 || value.get<double>() > 100)
      throw bad_field("logit_bias", "the bias of token " + key + " must be a number in [-100, 100]");
    bias.emplace_back(static_cast<int32_t>(id), value.get<float>());
  }
  return bias;
}

float read_float(const nlohmann::json& object, const char* key, double min, double max, double fallback) {
  return static_cast<float>(get_number(object, key, min, max).value_or(fallback));
}

}  // namespace

void check_model_name(const nlohmann::json& object, const ServedModel& model) {
  if (const std::optional<std::string> name = get_string(object, "model"); name && *name != model.name)
    throw ApiError(400, "the model '" + *name + "' does not exist; this server serves '" + model.name + "'", "model",
                   "model_not_found");
}

void read_generation_fields(const nlohmann::json& object, const ServedModel& model, GenerationParams& params) {
  const std::optional<int64_t> max_tokens = get_int(object, "max_tokens", 1, kIntMax);
  const std::optional<int64_t> max_completion_tokens = get_int(object, "max_completion_tokens", 1, kIntMax);
  if (max_tokens && max_completion_tokens && *max_tokens != *max_completion_tokens)
    throw bad_field("max_completion_tokens", "differs from max_tokens; give one of them");
  params.max_tokens = max_tokens.value_or(max_completion_tokens.value_or(params.max_tokens));

  runtime::SamplerOptions& sampler = params.sampler;
  sampler.temperature = read_float(object, "temperature", 0, 2, 1);
  sampler.top_p = read_float(object, "top_p", 0, 1, 1);
  if (sampler.top_p <= 0) throw bad_field("top_p", "must be greater than 0");
  const int64_t top_k = get_int(object, "top_k", -1, kIntMax).value_or(0);
  sampler.top_k = top_k < 0 ? 0 : top_k;  // -1 (vLLM) and 0: no cut
  sampler.min_p = read_float(object, "min_p", 0, 1, 0);
  sampler.presence_penalty = read_float(object, "presence_penalty", -2, 2, 0);
  sampler.frequency_penalty = read_float(object, "frequency_penalty", -2, 2, 0);
  sampler.repetition_penalty = read_float(object, "repetition_penalty", 0, 100, 1);
  if (sampler.repetition_penalty <= 0) throw bad_field("repetition_penalty", "must be greater than 0");
  sampler.logit_bias = read_logit_bias(object, model.tokenizer->n_vocab());
  if (const std::optional<int64_t> seed = get_int(object, "seed", std::numeric_limits<int64_t>::min(), kIntMax))
    sampler.seed = static_cast<uint64_t>(*seed);
  else
    sampler.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  params.stop_at_eos = !get_bool(object, "ignore_eos").value_or(false);
  params.stop = read_stop(object);
}

int64_t read_n(const nlohmann::json& object, const ServedModel& model) {
  const int64_t n = get_int(object, "n", 1, kIntMax).value_or(1);
  if (model.max_n > 0 && n > model.max_n)
    throw bad_field("n",
                    "must be at most " + std::to_string(model.max_n) + " (--max-num-seqs), got " + std::to_string(n));
  if (const std::optional<int64_t> best_of = get_int(object, "best_of", 1, kIntMax); best_of && *best_of != n)
    throw bad_field("best_of", "must equal n (" + std::to_string(n) + "): best_of > n is not supported");
  return n;
}

void read_stream_fields(const nlohmann::json& object, bool& stream, bool& include_usage) {
  stream = get_bool(object, "stream").value_or(false);
  include_usage = false;
  if (const auto it = object.find("stream_options"); it != object.end() && !it->is_null()) {
    if (!stream) throw bad_field("stream_options", "is allowed only when 'stream' is true");
    if (!it->is_object()) throw bad_field("stream_options", "must be an object");
    include_usage = get_bool(*it, "include_usage").value_or(false);
  }
}

void check_context(const GenerationParams& params, const ServedModel& model) {
  const auto n_prompt = static_cast<int64_t>(params.prompt.size());
  if (model.context > 0 && (n_prompt > model.context || params.max_tokens > model.context - n_prompt))
    throw ApiError(400,
                   "this model's maximum context length is " + std::to_string(model.context) +
                       " tokens, but the request needs " + std::to_string(n_prompt) + " in the prompt and " +
                       std::to_string(params.max_tokens) + " for the completion",
                   "prompt", "context_length_exceeded");
}

CompletionRequest parse_completion_request(const std::string& body, const ServedModel& model) {
  const nlohmann::json object = parse_object(body);
  check_model_name(object, model);
  if (const auto it = object.find("suffix"); it != object.end() && !it->is_null())
    throw bad_field("suffix", "is not supported by this server");

  CompletionRequest request;
  GenerationParams& params = request.params;
  std::string prompt_text;
  params.prompt = read_prompt(object, model, prompt_text);
  params.max_tokens = 16;
  read_generation_fields(object, model, params);
  params.logprobs = get_int(object, "logprobs", 0, kMaxLogprobs);
  if (get_bool(object, "echo").value_or(false)) {
    if (params.logprobs) throw bad_field("echo", "echo with logprobs (the prompt's logprobs) is not supported");
    request.echo = std::move(prompt_text);
  }
  request.n = read_n(object, model);
  read_stream_fields(object, request.stream, request.include_usage);
  check_context(params, model);
  return request;
}

}  // namespace moe::serve
