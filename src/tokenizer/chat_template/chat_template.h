// ChatTemplate: a model's Jinja chat template (tokenizer_config.json "chat_template", GGUF
// tokenizer.chat_template, or --chat-template) parsed once and rendered per conversation as
// transformers' apply_chat_template renders it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template/ast.h"

namespace moe::tokenizer {

using jinja::TemplateError;

struct ChatTemplateInputs {
  // OpenAI's messages: objects with "role" and "content"; a content that is a list of
  // {"type": "text", "text"} parts is joined with "\n" first (vLLM's "string" content format).
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  bool add_generation_prompt = true;
  std::string bos_token;
  std::string eos_token;
  nlohmann::ordered_json tools;  // null: `tools` is None
  // More variables (vLLM's chat_template_kwargs, e.g. enable_thinking); they cannot replace
  // messages, tools or add_generation_prompt.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class ChatTemplate {
 public:
  // Throws TemplateError for a template this Jinja subset cannot parse.
  explicit ChatTemplate(const std::string& source);
  // Throws TemplateError when rendering fails (including the template's raise_exception).
  std::string render(const ChatTemplateInputs& inputs) const;

 private:
  jinja::Body body_;
};

// The template in a tokenizer_config.json "chat_template" value: a string, or a list of
// {"name", "template"} from which "default" is taken. Empty when there is none; FormatError
// (naming `where`) for another shape.
std::string chat_template_from_config(const nlohmann::json& value, const std::string& where);

}  // namespace moe::tokenizer
