// Python's str methods that templates call, on UTF-8 text seen as code points: strip, split,
// replace, startswith/endswith and ASCII case mapping.
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/chat_template/value.h"

namespace moe::tokenizer::jinja {

// Python's whitespace (one code point).
bool is_py_space(const std::string& cp);
// str.strip / lstrip / rstrip: whitespace when `chars` is undefined or None, else its code points.
std::string strip(const std::string& text, const Value& chars, bool left, bool right);
// str.split(sep=None, maxsplit=-1).
List split(const std::string& text, const Value& sep, int64_t max_split);
// str.replace(old, new, count=-1).
std::string replace(const std::string& text, const std::string& old, const std::string& with, int64_t count);
// str.startswith / endswith with a string or a tuple (list) of strings.
bool affix(const std::string& text, const Value& what, bool prefix);
// str.upper / lower on ASCII letters (others unchanged).
std::string case_map(const std::string& text, bool upper);

}  // namespace moe::tokenizer::jinja
