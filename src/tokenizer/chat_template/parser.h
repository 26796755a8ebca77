// parse_template: template source to its syntax tree, with Jinja2's grammar and operator
// precedence for the statements chat templates use (if/elif/else, for with loop filters and
// else, set and set blocks, namespace attribute sets, break/continue, macros, generation blocks).
#pragma once

#include <string>

#include "tokenizer/chat_template/ast.h"

namespace moe::tokenizer::jinja {

// Throws TemplateError naming the line and what was expected or is not supported (call blocks,
// include, import, extends, block, filter blocks, ...).
Body parse_template(const std::string& source);

}  // namespace moe::tokenizer::jinja
