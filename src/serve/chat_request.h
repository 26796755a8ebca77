// The body of POST /v1/chat/completions: the messages checked (roles system/user/assistant,
// content a string or text parts) and rendered with the model's chat template into the prompt,
// which is tokenized without a second BOS when the template writes one; every other field is
// read as /v1/completions reads it (parse_generation_request).
#pragma once

#include <memory>
#include <string>

#include "serve/completion_request.h"
#include "tokenizer/chat_template/chat_template.h"

namespace moe::serve {

// The chat template the server renders with, or why there is none.
struct ServedChatTemplate {
  std::unique_ptr<tokenizer::ChatTemplate> chat_template;  // null: chat requests get 400
  std::string missing;                                     // the 400's message when chat_template is null
};

// The template of --chat-template `file` when given (unreadable or unparsable: UsageError naming
// the flag), else the model's own `model_template`; with neither, or a model template this Jinja
// subset cannot parse, `missing` says so and how to pass one.
ServedChatTemplate served_chat_template(const std::string& file, const std::string& model_template);

// Throws ApiError (400) naming the field at fault; a template that fails to render (its
// raise_exception included) is a 400 on "messages" with the template's message.
CompletionRequest parse_chat_request(const std::string& body, const ServedModel& model, const ServedChatTemplate& chat);

}  // namespace moe::serve
