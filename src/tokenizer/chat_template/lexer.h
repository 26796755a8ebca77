// lex_template: template source to tokens as Jinja2's lexer makes them under transformers' settings
// (trim_blocks and lstrip_blocks on, keep_trailing_newline off): text between tags with the
// whitespace control applied ({%- -%}, {%+, the newline after a block tag, the indentation before
// one), comments dropped, and the expression tokens inside each {{ }} and {% %}.
#pragma once

#include <string>
#include <vector>

namespace moe::tokenizer::jinja {

struct Token {
  enum class Kind {
    kText,           // template data, written as is
    kVariableBegin,  // {{
    kVariableEnd,    // }}
    kBlockBegin,     // {%
    kBlockEnd,       // %}
    kName,
    kString,  // text: the literal's value, escapes decoded
    kInt,
    kFloat,
    kOperator,  // text: + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
  };
  Kind kind;
  std::string text;
  int line = 1;
};

// Throws TemplateError (with the line) for an unclosed tag, comment or string, or a character
// no token starts with.
std::vector<Token> lex_template(const std::string& source);

}  // namespace moe::tokenizer::jinja
