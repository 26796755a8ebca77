// ChatTemplate: the variables transformers passes (messages, tools, documents,
// add_generation_prompt, the special tokens) and the template rendered over them.
#include "tokenizer/chat_template/chat_template.h"

#include "tokenizer/chat_template/parser.h"
#include "tokenizer/chat_template/render.h"

namespace moe::tokenizer {

namespace {

// Text parts joined with "\n"; other contents pass as they are.
jinja::Value message_value(const nlohmann::ordered_json& message) {
  jinja::Value value = jinja::Value::from_json(message);
  if (!message.is_object()) return value;
  const auto content = message.find("content");
  if (content == message.end() || !content->is_array()) return value;
  std::string text;
  bool first = true;
  for (const auto& part : *content) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      return value;
    text += (first ? "" : "\n") + part["text"].get<std::string>();
    first = false;
  }
  value.set("content", jinja::Value(text));
  return value;
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source) : body_(jinja::parse_template(source)) {}

std::string ChatTemplate::render(const ChatTemplateInputs& inputs) const {
  jinja::List messages;
  for (const auto& message : inputs.messages) messages.push_back(message_value(message));
  jinja::Dict variables;
  for (const auto& [key, value] : inputs.extra.items()) variables.emplace_back(key, jinja::Value::from_json(value));
  const auto put = [&](const std::string& key, jinja::Value value) {
    for (auto& [name, old] : variables)
      if (name == key) {
        old = std::move(value);
        return;
      }
    variables.emplace_back(key, std::move(value));
  };
  put("messages", jinja::Value(std::move(messages)));
  put("tools", jinja::Value::from_json(inputs.tools));
  put("documents", jinja::Value::none());
  put("add_generation_prompt", jinja::Value(inputs.add_generation_prompt));
  put("bos_token", jinja::Value(inputs.bos_token));
  put("eos_token", jinja::Value(inputs.eos_token));
  return jinja::render_template(body_, variables);
}

std::string chat_template_from_config(const nlohmann::json& value, const std::string& where) {
  if (value.is_null()) return {};
  if (value.is_string()) return value.get<std::string>();
  MOE_CHECK(value.is_array(), FormatError, where, ": chat_template is neither a string nor a list of named templates");
  for (const auto& entry : value) {
    MOE_CHECK(entry.is_object() && entry.contains("name") && entry.contains("template") && entry["name"].is_string() &&
                  entry["template"].is_string(),
              FormatError, where, ": a chat_template list entry is not {\"name\": ..., \"template\": ...}");
    if (entry["name"] == "default") return entry["template"].get<std::string>();
  }
  return {};
}

}  // namespace moe::tokenizer
