// The filters, tests, methods and global functions of the Jinja subset: what Jinja2 and Python's
// str, dict and list offer that chat templates call (trim, length, tojson, items, selectattr,
// map, join, default, ..; is defined, is string, ...; .strip(), .split(), .startswith(), .get(),
// ...; raise_exception, namespace, range, strftime_now). Defined in filters.cpp, jinja_tests.cpp
// and methods.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tokenizer/chat_template/value.h"

namespace moe::tokenizer::jinja {

using Args = std::vector<Value>;
using Kwargs = std::vector<std::pair<std::string, Value>>;

// Each throws TemplateError naming what is unknown or mistyped (the caller adds the line).
Value apply_filter(const std::string& name, const Value& target, const Args& args, const Kwargs& kwargs);
bool apply_test(const std::string& name, const Value& target, const Args& args);
Value call_method(const Value& target, const std::string& name, const Args& args, const Kwargs& kwargs);
// Whether `target.name(...)` is one of the methods call_method knows.
bool has_method(const Value& target, const std::string& name);
Value call_global(const std::string& name, const Args& args, const Kwargs& kwargs);

// Python's obj[index] for lists and strings (code points); negative from the end; undefined
// when out of range.
Value get_index(const Value& target, int64_t index);
// The items a for loop or a filter walks: a list's items, a dict's keys, a string's characters.
List iterate(const Value& target);

}  // namespace moe::tokenizer::jinja
