// The tests of `is`: Jinja2 3.1's.
#include <algorithm>

#include "tokenizer/chat_template/builtin_args.h"
#include "tokenizer/chat_template/builtins.h"
#include "tokenizer/chat_template/python_str.h"

namespace moe::tokenizer::jinja {

bool apply_test(const std::string& name, const Value& target, const Args& args) {
  const auto need = [&](size_t n) {
    if (args.size() < n) throw TemplateError("the test '" + name + "' needs an argument");
  };
  if (name == "defined") return !target.is_undefined();
  if (name == "undefined") return target.is_undefined();
  if (name == "none") return target.is_none();
  if (name == "boolean") return target.is_bool();
  if (name == "true") return target.is_bool() && target.as_int() == 1;
  if (name == "false") return target.is_bool() && target.as_int() == 0;
  if (name == "integer") return target.kind() == Value::Kind::kInt;
  if (name == "float") return target.kind() == Value::Kind::kFloat;
  if (name == "number") return target.is_number();
  if (name == "string") return target.is_string();
  if (name == "mapping") return target.kind() == Value::Kind::kDict;
  if (name == "iterable") return target.is_list() || target.is_dict() || target.is_string() || target.is_undefined();
  if (name == "sequence") return target.is_list() || target.kind() == Value::Kind::kDict || target.is_string();
  if (name == "callable") return false;
  if (name == "escaped") return false;
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") {
    need(1);
    return target == args[0];
  }
  if (name == "ne" || name == "!=") {
    need(1);
    return !(target == args[0]);
  }
  if (name == "lt" || name == "<" || name == "gt" || name == ">" || name == "le" || name == "<=" || name == "ge" ||
      name == ">=") {
    need(1);
    if (name == "lt" || name == "<") return less(target, args[0]);
    if (name == "gt" || name == ">") return less(args[0], target);
    if (name == "le" || name == "<=") return !less(args[0], target);
    return !less(target, args[0]);
  }
  if (name == "in") {
    need(1);
    const Value& container = args[0];
    if (container.is_string())
      return container.as_string().find(want_string(target, "'in <string>'")) != std::string::npos;
    if (container.is_dict()) return target.is_string() && !container.get(target.as_string()).is_undefined();
    const List items = iterate(container);
    return std::find(items.begin(), items.end(), target) != items.end();
  }
  if (name == "odd" || name == "even") {
    const int64_t n = want_int(target, "the value of 'is " + name + "'");
    return (((n % 2) + 2) % 2 == 1) == (name == "odd");
  }
  if (name == "divisibleby") {
    need(1);
    const int64_t d = want_int(args[0], "divisibleby's argument");
    if (d == 0) throw TemplateError("divisibleby: division by zero");
    return want_int(target, "the value of 'is divisibleby'") % d == 0;
  }
  if (name == "lower" || name == "upper") {
    const std::string s = target.str();
    return s == case_map(s, name == "upper");
  }
  throw TemplateError("the test '" + name + "' is not supported by this Jinja subset");
}

}  // namespace moe::tokenizer::jinja
