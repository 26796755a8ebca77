// Value: what a chat template computes with, the Python objects Jinja2 hands around (undefined,
// None, bool, int, float, str, list, dict, namespace), with Python's truthiness, equality,
// str() and repr(), and JSON in and out (tojson as transformers defines it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace moe::tokenizer::jinja {

// A template that cannot be parsed or rendered: a syntax error, an unsupported construct, a type
// error, or the template's own raise_exception(). The message says where (line) and what.
class TemplateError : public Error {
 public:
  using Error::Error;
};

// How deep values and expressions may nest: deeper input is refused, never a stack overflow.
inline constexpr int kMaxDepth = 256;

class Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, as Python's dict

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace };

  Value() = default;  // undefined
  static Value none() { return Value(Kind::kNone); }
  Value(bool b) : kind_(Kind::kBool), int_(b) {}
  Value(int64_t i) : kind_(Kind::kInt), int_(i) {}
  Value(int i) : kind_(Kind::kInt), int_(i) {}
  Value(double f) : kind_(Kind::kFloat), float_(f) {}
  Value(std::string s) : kind_(Kind::kString), string_(std::make_shared<std::string>(std::move(s))) {}
  Value(const char* s) : Value(std::string(s)) {}
  // A tuple is a list that prints as (a, b): literal tuples and the pairs of items().
  Value(List list, bool is_tuple = false)
      : kind_(Kind::kList), tuple_(is_tuple), list_(std::make_shared<List>(std::move(list))) {}
  Value(Dict dict, bool is_namespace = false)
      : kind_(is_namespace ? Kind::kNamespace : Kind::kDict), dict_(std::make_shared<Dict>(std::move(dict))) {}
  // TemplateError for values nested deeper than kMaxDepth.
  static Value from_json(const nlohmann::ordered_json& json, int depth = 0);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }  // bool is an int in Python
  bool is_number() const { return is_int() || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict || kind_ == Kind::kNamespace; }

  int64_t as_int() const { return int_; }
  double as_float() const { return kind_ == Kind::kFloat ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return *string_; }
  const List& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }

  // A dict's value for `key`, or undefined.
  Value get(const std::string& key) const;
  // Writes `key` into a dict (replacing its value, else appended).
  void set(const std::string& key, Value value) const;

  bool truthy() const;
  // Python's ==: 1 == 1.0 == True; lists and dicts element-wise.
  bool operator==(const Value& other) const;
  // str(value) as Jinja2 prints it: undefined "", None "None", True "True", 1.5 "1.5", lists and
  // dicts as repr.
  std::string str() const;
  std::string repr() const;
  // json.dumps(value, ensure_ascii=False, sort_keys=sort_keys) with `indent` spaces (< 0: one
  // line, ", " and ": ").
  std::string to_json(int indent = -1, bool sort_keys = false) const;
  // The Python type's name, for error messages.
  std::string type_name() const;

 private:
  explicit Value(Kind kind) : kind_(kind) {}
  void write_json(std::string& out, int indent, bool sort_keys, int depth) const;

  Kind kind_ = Kind::kUndefined;
  bool tuple_ = false;
  int64_t int_ = 0;
  double float_ = 0;
  std::shared_ptr<const std::string> string_;
  std::shared_ptr<List> list_;  // shared: the sandbox never mutates lists
  std::shared_ptr<Dict> dict_;  // shared: namespaces are mutable objects, as in Python
};

// Python's repr of a float: the shortest text that reads back, "1.0", "1e+20", "inf".
std::string float_repr(double value);

// UTF-8 strings seen as Python's sequences of code points.
std::vector<std::string> code_points(const std::string& text);

}  // namespace moe::tokenizer::jinja
