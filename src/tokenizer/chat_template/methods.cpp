// Python's str and dict methods, indexing and iteration, and the globals transformers defines
// (raise_exception, strftime_now) beside Jinja2's (namespace, range).
#include <algorithm>
#include <ctime>

#include "tokenizer/chat_template/builtin_args.h"
#include "tokenizer/chat_template/builtins.h"
#include "tokenizer/chat_template/python_str.h"

namespace moe::tokenizer::jinja {

Value get_index(const Value& target, int64_t index) {
  if (target.is_list()) {
    const auto n = static_cast<int64_t>(target.as_list().size());
    if (index < 0) index += n;
    return index >= 0 && index < n ? target.as_list()[index] : Value();
  }
  if (target.is_string()) {
    const std::vector<std::string> cps = code_points(target.as_string());
    const auto n = static_cast<int64_t>(cps.size());
    if (index < 0) index += n;
    return index >= 0 && index < n ? Value(cps[index]) : Value();
  }
  return Value();
}

List iterate(const Value& target) {
  switch (target.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      return target.as_list();
    case Value::Kind::kDict: {
      List keys;
      for (const auto& [key, value] : target.as_dict()) keys.emplace_back(key);
      return keys;
    }
    case Value::Kind::kString: {
      List out;
      for (std::string& cp : code_points(target.as_string())) out.emplace_back(std::move(cp));
      return out;
    }
    default:
      throw TemplateError("'" + target.type_name() + "' object is not iterable");
  }
}

bool has_method(const Value& target, const std::string& name) {
  static const char* const kString[] = {"strip", "lstrip",     "rstrip",  "startswith", "endswith", "split",
                                        "upper", "lower",      "replace", "find",       "count",    "join",
                                        "title", "capitalize", "rsplit",  "isdigit",    "isspace"};
  static const char* const kDict[] = {"items", "keys", "values", "get"};
  if (target.is_string()) return std::find(std::begin(kString), std::end(kString), name) != std::end(kString);
  if (target.kind() == Value::Kind::kDict)
    return std::find(std::begin(kDict), std::end(kDict), name) != std::end(kDict);
  return false;
}

Value call_method(const Value& target, const std::string& name, const Args& args, const Kwargs& kwargs) {
  if (target.kind() == Value::Kind::kDict) {
    if (name == "items") return apply_filter("items", target, {}, {});
    if (name == "keys") return Value(iterate(target));
    if (name == "values") {
      List out;
      for (const auto& [key, value] : target.as_dict()) out.push_back(value);
      return Value(std::move(out));
    }
    if (name == "get") {
      const Value value = target.get(want_string(arg(args, kwargs, 0, "key"), "get's key"));
      return value.is_undefined() ? arg(args, kwargs, 1, "default", Value::none()) : value;
    }
  }
  if (target.is_string()) {
    const std::string& s = target.as_string();
    if (name == "strip" || name == "lstrip" || name == "rstrip")
      return Value(strip(s, arg(args, kwargs, 0, "chars"), name != "rstrip", name != "lstrip"));
    if (name == "startswith" || name == "endswith")
      return Value(affix(s, arg(args, kwargs, 0, ""), name == "startswith"));
    if (name == "split") {
      const Value max_split = arg(args, kwargs, 1, "maxsplit", Value(int64_t{-1}));
      return Value(split(s, arg(args, kwargs, 0, "sep"), want_int(max_split, "split's maxsplit")));
    }
    if (name == "rsplit") {
      if (arg(args, kwargs, 1, "maxsplit", Value(int64_t{-1})).as_int() >= 0)
        throw TemplateError("rsplit with maxsplit is not supported by this Jinja subset");
      return Value(split(s, arg(args, kwargs, 0, "sep"), -1));
    }
    if (name == "upper" || name == "lower") return Value(case_map(s, name == "upper"));
    if (name == "capitalize") return apply_filter("capitalize", target, {}, {});
    if (name == "title") {
      std::string out = s;
      bool start = true;
      for (char& c : out) {
        const bool letter = std::isalpha(static_cast<unsigned char>(c)) != 0;
        if (letter) c = static_cast<char>(start ? std::toupper(c) : std::tolower(c));
        start = !letter;
      }
      return Value(out);
    }
    if (name == "replace") {
      const Value count = arg(args, kwargs, 2, "count", Value(int64_t{-1}));
      return Value(replace(s, want_string(arg(args, kwargs, 0, "old"), "replace's old"),
                           want_string(arg(args, kwargs, 1, "new"), "replace's new"),
                           want_int(count, "replace's count")));
    }
    if (name == "find") {
      const size_t at = s.find(want_string(arg(args, kwargs, 0, "sub"), "find's argument"));
      if (at == std::string::npos) return Value(int64_t{-1});
      return Value(static_cast<int64_t>(code_points(s.substr(0, at)).size()));
    }
    if (name == "count") {
      const std::string& sub = want_string(arg(args, kwargs, 0, "sub"), "count's argument");
      if (sub.empty()) return Value(static_cast<int64_t>(code_points(s).size() + 1));
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value(n);
    }
    if (name == "join") {
      std::string out;
      bool first = true;
      for (const Value& item : iterate(arg(args, kwargs, 0, "iterable"))) {
        if (!first) out += s;
        first = false;
        out += want_string(item, "join's items");
      }
      return Value(out);
    }
    if (name == "isdigit" || name == "isspace") {
      const bool digit = name == "isdigit";
      return Value(!s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
        return digit ? std::isdigit(static_cast<unsigned char>(c)) != 0 : is_py_space(std::string(1, c));
      }));
    }
  }
  throw TemplateError("'" + target.type_name() + "' object has no method '" + name + "' in this Jinja subset");
}

Value call_global(const std::string& name, const Args& args, const Kwargs& kwargs) {
  if (name == "raise_exception")
    throw TemplateError(args.empty() ? std::string("raise_exception() called") : args[0].str());
  if (name == "namespace") {
    Dict fields;
    for (const Value& a : args) {
      if (!a.is_dict()) type_error("namespace(): positional arguments must be mappings", a);
      for (const auto& [key, value] : a.as_dict()) fields.emplace_back(key, value);
    }
    for (const auto& [key, value] : kwargs) fields.emplace_back(key, value);
    return Value(std::move(fields), true);
  }
  if (name == "range") {
    if (args.empty() || args.size() > 3) throw TemplateError("range() takes 1 to 3 arguments");
    int64_t start = 0, stop = 0, step = 1;
    if (args.size() == 1) {
      stop = want_int(args[0], "range's argument");
    } else {
      start = want_int(args[0], "range's start");
      stop = want_int(args[1], "range's stop");
      if (args.size() == 3) step = want_int(args[2], "range's step");
    }
    if (step == 0) throw TemplateError("range() step must not be zero");
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.emplace_back(i);
      if (out.size() > 100000) throw TemplateError("range() is too long");  // the sandbox's MAX_RANGE
    }
    return Value(std::move(out));
  }
  if (name == "strftime_now") {  // transformers' global
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buffer[256];
    const size_t n = std::strftime(buffer, sizeof buffer,
                                   want_string(arg(args, kwargs, 0, ""), "strftime_now's format").c_str(), &local);
    return Value(std::string(buffer, n));
  }
  throw TemplateError("'" + name + "' is undefined or not a function");
}

}  // namespace moe::tokenizer::jinja
