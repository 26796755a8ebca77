// parse_chat_request: messages to prompt ids through the chat template; the rest shared with
// /v1/completions. Defaults are OpenAI's for chat: max_tokens the rest of the context.
#include "serve/chat_request.h"

#include <fstream>
#include <sstream>

#include "serve/api_error.h"
#include "serve/request_fields.h"

namespace moe::serve {

namespace {

constexpr int64_t kMaxChatTopLogprobs = 20;  // OpenAI's

// A copy of `messages` with each one checked and reduced to what templates read.
nlohmann::ordered_json read_messages(const nlohmann::json& object) {
  const auto it = object.find("messages");
  if (it == object.end() || it->is_null()) throw bad_field("messages", "is required");
  if (!it->is_array() || it->empty()) throw bad_field("messages", "must be a non-empty array of messages");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& message = (*it)[i];
    const std::string field = "messages[" + std::to_string(i) + "]";
    if (!message.is_object()) throw bad_field(field, "must be an object with 'role' and 'content'");
    const std::optional<std::string> role = get_string(message, "role");
    if (!role) throw bad_field(field + ".role", "is required");
    if (*role != "system" && *role != "user" && *role != "assistant")
      throw bad_field(field + ".role", "must be 'system', 'user' or 'assistant', got '" + *role + "'");
    const auto content = message.find("content");
    if (content == message.end() || content->is_null()) throw bad_field(field + ".content", "is required");
    nlohmann::ordered_json copy = {{"role", *role}};
    if (content->is_string()) {
      copy["content"] = content->get<std::string>();
    } else if (content->is_array()) {
      nlohmann::ordered_json parts = nlohmann::ordered_json::array();
      for (size_t j = 0; j < content->size(); ++j) {
        const nlohmann::json& part = (*content)[j];
        const std::string part_field = field + ".content[" + std::to_string(j) + "]";
        if (!part.is_object()) throw bad_field(part_field, "must be an object {\"type\": \"text\", \"text\": ...}");
        const std::optional<std::string> type = get_string(part, "type");
        if (type != "text")
          throw bad_field(part_field + ".type",
                          "only \"text\" parts are supported, got " + (type ? "'" + *type + "'" : std::string("none")));
        const std::optional<std::string> text = get_string(part, "text");
        if (!text) throw bad_field(part_field + ".text", "is required");
        parts.push_back({{"type", "text"}, {"text", *text}});
      }
      copy["content"] = std::move(parts);
    } else {
      throw bad_field(field + ".content", "must be a string or an array of text parts");
    }
    if (const std::optional<std::string> name = get_string(message, "name")) copy["name"] = *name;
    out.push_back(std::move(copy));
  }
  return out;
}

// 400 for the chat fields this server does not implement, unless neutral.
void reject_unsupported_chat(const nlohmann::json& object) {
  const auto set = [&](const char* key) {
    const auto it = object.find(key);
    return it != object.end() && !it->is_null() ? &*it : nullptr;
  };
  const auto unsupported = [](const char* key) { return bad_field(key, "is not supported by this server yet"); };
  for (const char* key : {"tools", "functions"})
    if (const nlohmann::json* v = set(key); v && !v->empty()) throw unsupported(key);
  if (const nlohmann::json* v = set("response_format"); v && !(v->is_object() && v->value("type", "") == "text"))
    throw unsupported("response_format");
}

}  // namespace

ServedChatTemplate served_chat_template(const std::string& file, const std::string& model_template) {
  ServedChatTemplate served;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    MOE_CHECK(in.is_open(), UsageError, "--chat-template ", file, ": cannot open");
    std::ostringstream text;
    text << in.rdbuf();
    try {
      served.chat_template = std::make_unique<tokenizer::ChatTemplate>(text.str());
    } catch (const tokenizer::TemplateError& e) {
      throw UsageError(detail::concat("--chat-template ", file, ": ", e.what()));
    }
    return served;
  }
  if (model_template.empty()) {
    served.missing =
        "this model has no chat template: start moe serve with --chat-template FILE (a Jinja chat template) "
        "to serve /v1/chat/completions, or send formatted prompts to /v1/completions";
    return served;
  }
  try {
    served.chat_template = std::make_unique<tokenizer::ChatTemplate>(model_template);
  } catch (const tokenizer::TemplateError& e) {
    served.missing = std::string("the model's chat template cannot be used (") + e.what() +
                     "): start moe serve with --chat-template FILE";
  }
  return served;
}

CompletionRequest parse_chat_request(const std::string& body, const ServedModel& model,
                                     const ServedChatTemplate& chat) {
  nlohmann::json object = parse_object(body);
  reject_unsupported_chat(object);
  // Chat's logprobs is a boolean, top_logprobs the count (0..20, only with logprobs).
  const bool logprobs = get_bool(object, "logprobs").value_or(false);
  const std::optional<int64_t> top_logprobs = get_int(object, "top_logprobs", 0, kMaxChatTopLogprobs);
  if (top_logprobs && !logprobs) throw bad_field("top_logprobs", "needs 'logprobs': true");
  const auto read_prompt = [&](const nlohmann::json& fields) {
    tokenizer::ChatTemplateInputs inputs;
    inputs.messages = read_messages(fields);
    inputs.add_generation_prompt = get_bool(fields, "add_generation_prompt").value_or(true);
    if (const auto it = fields.find("chat_template_kwargs"); it != fields.end() && !it->is_null()) {
      if (!it->is_object()) throw bad_field("chat_template_kwargs", "must be an object");
      inputs.extra = nlohmann::ordered_json::parse(it->dump());
    }
    if (!chat.chat_template) throw ApiError(400, chat.missing, "messages");
    const tokenizer::Tokenizer& tok = *model.tokenizer;
    const tokenizer::Vocab& vocab = tok.vocab();
    inputs.bos_token = vocab.tokens[vocab.bos_id];
    inputs.eos_token = vocab.tokens[vocab.eos_id];
    std::string prompt;
    try {
      prompt = chat.chat_template->render(inputs);
    } catch (const tokenizer::TemplateError& e) {
      throw ApiError(400, std::string("the chat template failed: ") + e.what(), "messages");
    }
    // Templates that write the BOS themselves (Mixtral, OLMoE, DeepSeek) get no second one.
    const bool add_bos = vocab.add_bos && prompt.rfind(inputs.bos_token, 0) != 0;
    std::vector<int32_t> ids = tok.encode(prompt, add_bos);
    if (ids.empty()) throw bad_field("messages", "the rendered prompt is empty");
    return ids;
  };
  check_model_name(object, model);
  CompletionRequest request;
  GenerationParams& params = request.params;
  params.prompt = read_prompt(object);
  // Without max_tokens, chat generates up to the end of the context (OpenAI's and vLLM's default).
  const auto n_prompt = static_cast<int64_t>(params.prompt.size());
  params.max_tokens = model.context > n_prompt ? model.context - n_prompt : 16;
  read_generation_fields(object, model, params);
  if (logprobs) params.logprobs = top_logprobs.value_or(0);
  request.n = read_n(object, model);
  read_stream_fields(object, request.stream, request.include_usage);
  check_context(params, model);
  return request;
}

}  // namespace moe::serve
