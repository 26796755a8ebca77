// render_template: a parsed template walked with its variables to the text it writes, with
// Jinja2's scoping (a for loop's body gets a fresh scope each iteration; if blocks none; a
// namespace's attributes are how a loop's sets reach outside it; a macro sees its parameters and
// the scopes it was defined in) and the `loop` variable.
#pragma once

#include <string>

#include "tokenizer/chat_template/ast.h"
#include "tokenizer/chat_template/value.h"

namespace moe::tokenizer::jinja {

// `variables` are the template's globals (messages, add_generation_prompt, bos_token, ...).
// Throws TemplateError with the line for a type error, an undefined value used, an unsupported
// filter, test or method, or raise_exception().
std::string render_template(const Body& body, const Dict& variables);

}  // namespace moe::tokenizer::jinja
