// Helpers of the built-in filters, tests and methods: argument lookup (positional, then by
// keyword) and the type checks whose failures name what was expected.
#pragma once

#include <string>

#include "tokenizer/chat_template/builtins.h"

namespace moe::tokenizer::jinja {

[[noreturn]] inline void type_error(const std::string& what, const Value& value) {
  throw TemplateError(what + " (got " + value.type_name() + ")");
}

inline const std::string& want_string(const Value& value, const std::string& what) {
  if (!value.is_string()) type_error(what + " must be a string", value);
  return value.as_string();
}

inline int64_t want_int(const Value& value, const std::string& what) {
  if (!value.is_int()) type_error(what + " must be an integer", value);
  return value.as_int();
}

// args[index], else the keyword `key`, else `fallback`.
inline Value arg(const Args& args, const Kwargs& kwargs, size_t index, const std::string& key,
                 Value fallback = Value()) {
  if (index < args.size()) return args[index];
  for (const auto& [name, value] : kwargs)
    if (name == key) return value;
  return fallback;
}

// Python's < for numbers and strings (sort, and the lt/gt tests).
inline bool less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_float() < b.as_float();
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  throw TemplateError("'<' not supported between " + a.type_name() + " and " + b.type_name());
}

}  // namespace moe::tokenizer::jinja
