// The filters, tests, methods and globals, each as Jinja2 3.1 and Python 3 define it.
#include "tokenizer/chat_template/builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace moe::tokenizer::jinja {

namespace {

[[noreturn]] void type_error(const std::string& what, const Value& value) {
  throw TemplateError(what + " (got " + value.type_name() + ")");
}

const std::string& want_string(const Value& value, const std::string& what) {
  if (!value.is_string()) type_error(what + " must be a string", value);
  return value.as_string();
}

int64_t want_int(const Value& value, const std::string& what) {
  if (!value.is_int()) type_error(what + " must be an integer", value);
  return value.as_int();
}

// args[index], else the keyword `key`, else `fallback`.
Value arg(const Args& args, const Kwargs& kwargs, size_t index, const std::string& key, Value fallback = Value()) {
  if (index < args.size()) return args[index];
  for (const auto& [name, value] : kwargs)
    if (name == key) return value;
  return fallback;
}

bool is_py_space(const std::string& cp) {
  return cp.size() == 1 && (cp[0] == ' ' || (cp[0] >= '\t' && cp[0] <= '\r') || (cp[0] >= '\x1c' && cp[0] <= '\x1f'));
}

// str.strip / lstrip / rstrip: whitespace, or any code point of `chars`.
std::string strip(const std::string& text, const Value& chars, bool left, bool right) {
  const std::vector<std::string> cps = code_points(text);
  std::vector<std::string> set;
  if (!chars.is_undefined() && !chars.is_none()) set = code_points(want_string(chars, "strip's argument"));
  const auto strippable = [&](const std::string& cp) {
    return chars.is_undefined() || chars.is_none() ? is_py_space(cp)
                                                   : std::find(set.begin(), set.end(), cp) != set.end();
  };
  size_t begin = 0, end = cps.size();
  if (left)
    while (begin < end && strippable(cps[begin])) ++begin;
  if (right)
    while (end > begin && strippable(cps[end - 1])) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += cps[i];
  return out;
}

List split(const std::string& text, const Value& sep, int64_t max_split) {
  List out;
  if (sep.is_undefined() || sep.is_none()) {  // runs of whitespace, no empty parts
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && is_py_space(std::string(1, text[i]))) ++i;
      if (i >= text.size()) break;
      if (max_split >= 0 && static_cast<int64_t>(out.size()) == max_split) {
        std::string rest = text.substr(i);
        while (!rest.empty() && is_py_space(std::string(1, rest.back()))) rest.pop_back();
        out.emplace_back(rest);
        return out;
      }
      size_t j = i;
      while (j < text.size() && !is_py_space(std::string(1, text[j]))) ++j;
      out.emplace_back(text.substr(i, j - i));
      i = j;
    }
    return out;
  }
  const std::string& s = want_string(sep, "split's separator");
  if (s.empty()) throw TemplateError("split: empty separator");
  size_t from = 0;
  for (;;) {
    const size_t at = text.find(s, from);
    if (at == std::string::npos || (max_split >= 0 && static_cast<int64_t>(out.size()) == max_split)) break;
    out.emplace_back(text.substr(from, at - from));
    from = at + s.size();
  }
  out.emplace_back(text.substr(from));
  return out;
}

std::string replace(const std::string& text, const std::string& old, const std::string& with, int64_t count) {
  std::string out;
  size_t from = 0;
  int64_t done = 0;
  if (old.empty()) {  // Python inserts `with` around every code point
    for (const std::string& cp : code_points(text)) {
      if (count >= 0 && done >= count) {
        out += cp;
        continue;
      }
      out += with + cp;
      ++done;
    }
    return count < 0 || done < count ? out + with : out;
  }
  for (;;) {
    const size_t at = text.find(old, from);
    if (at == std::string::npos || (count >= 0 && done >= count)) break;
    out += text.substr(from, at - from) + with;
    from = at + old.size();
    ++done;
  }
  return out + text.substr(from);
}

// startswith / endswith: a string or a tuple (list) of strings.
bool affix(const std::string& text, const Value& what, bool prefix) {
  const auto one = [&](const Value& v) {
    const std::string& a = want_string(v, prefix ? "startswith's argument" : "endswith's argument");
    if (a.size() > text.size()) return false;
    return prefix ? text.compare(0, a.size(), a) == 0 : text.compare(text.size() - a.size(), a.size(), a) == 0;
  };
  if (what.is_list()) return std::any_of(what.as_list().begin(), what.as_list().end(), one);
  return one(what);
}

std::string case_map(const std::string& text, bool upper) {
  std::string out = text;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(upper ? std::toupper(c) : std::tolower(c));
  return out;
}

// Jinja2's attribute path "a.b.0" as used by selectattr, map and sort.
Value attribute_path(const Value& item, const std::string& path) {
  Value current = item;
  size_t from = 0;
  for (;;) {
    const size_t dot = path.find('.', from);
    const std::string part = path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    if (current.is_dict()) {
      current = current.get(part);
    } else if (!part.empty() && std::all_of(part.begin(), part.end(), ::isdigit)) {
      current = get_index(current, std::stoll(part));
    } else {
      current = Value();
    }
    if (dot == std::string::npos) return current;
    from = dot + 1;
  }
}

Value select(const Value& target, const Args& args, bool by_attribute, bool keep) {
  List out;
  const size_t first_test_arg = by_attribute ? 1 : 0;
  std::string attribute;
  if (by_attribute) attribute = want_string(arg(args, {}, 0, ""), "selectattr's attribute");
  for (const Value& item : iterate(target)) {
    const Value subject = by_attribute ? attribute_path(item, attribute) : item;
    bool pass;
    if (args.size() <= first_test_arg) {
      pass = subject.truthy();
    } else {
      const std::string& test = want_string(args[first_test_arg], "the test's name");
      pass = apply_test(test, subject, Args(args.begin() + first_test_arg + 1, args.end()));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

bool less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_float() < b.as_float();
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  throw TemplateError("'<' not supported between " + a.type_name() + " and " + b.type_name());
}

}  // namespace

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

Value apply_filter(const std::string& name, const Value& target, const Args& args, const Kwargs& kwargs) {
  if (name == "trim") return Value(strip(target.str(), arg(args, kwargs, 0, "chars"), true, true));
  if (name == "length" || name == "count") {
    if (target.is_string()) return Value(static_cast<int64_t>(code_points(target.as_string()).size()));
    if (target.is_list()) return Value(static_cast<int64_t>(target.as_list().size()));
    if (target.is_dict()) return Value(static_cast<int64_t>(target.as_dict().size()));
    if (target.is_undefined()) return Value(int64_t{0});
    type_error("length: the value has no length", target);
  }
  if (name == "tojson") {  // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
    const Value ensure_ascii = arg(args, kwargs, 0, "ensure_ascii", Value(false));
    const Value indent = arg(args, kwargs, 1, "indent", Value::none());
    const Value separators = arg(args, kwargs, 2, "separators", Value::none());
    if (ensure_ascii.truthy() || !separators.is_none())
      throw TemplateError("tojson: ensure_ascii and separators are not supported by this Jinja subset");
    if (!indent.is_none() && (!indent.is_int() || indent.as_int() < 0 || indent.as_int() > 64))
      type_error("tojson: indent must be None or an integer in [0, 64]", indent);
    return Value(target.to_json(indent.is_none() ? -1 : static_cast<int>(indent.as_int()),
                                arg(args, kwargs, 3, "sort_keys", Value(false)).truthy()));
  }
  if (name == "items") {
    if (target.is_undefined()) return Value(List{});
    if (!target.is_dict()) type_error("items: the value must be a mapping", target);
    List out;
    for (const auto& [key, value] : target.as_dict()) out.emplace_back(List{Value(key), value}, true);
    return Value(std::move(out));
  }
  if (name == "selectattr" || name == "rejectattr") return select(target, args, true, name == "selectattr");
  if (name == "select" || name == "reject") return select(target, args, false, name == "select");
  if (name == "map") {
    List out;
    const Value attribute = arg({}, kwargs, 0, "attribute");
    for (const Value& item : iterate(target)) {
      if (attribute.is_string()) {
        Value v = attribute_path(item, attribute.as_string());
        if (v.is_undefined()) v = arg({}, kwargs, 0, "default");
        out.push_back(v);
      } else {
        if (args.empty()) throw TemplateError("map: needs a filter name or attribute=");
        out.push_back(apply_filter(want_string(args[0], "map's filter"), item, Args(args.begin() + 1, args.end()), {}));
      }
    }
    return Value(std::move(out));
  }
  if (name == "list") return Value(iterate(target));
  if (name == "join") {
    const Value sep = arg(args, kwargs, 0, "d", Value(""));
    const Value attribute = arg(args, kwargs, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(target)) {
      if (!first) out += sep.str();
      first = false;
      out += (attribute.is_string() ? attribute_path(item, attribute.as_string()) : item).str();
    }
    return Value(out);
  }
  if (name == "first" || name == "last") {
    const List items = iterate(target);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "default" || name == "d") {
    const bool boolean = arg(args, kwargs, 1, "boolean", Value(false)).truthy();
    if (target.is_undefined() || (boolean && !target.truthy())) return arg(args, kwargs, 0, "default_value", Value(""));
    return target;
  }
  if (name == "string") return Value(target.str());
  if (name == "safe") return target;
  if (name == "upper" || name == "lower") return Value(case_map(target.str(), name == "upper"));
  if (name == "capitalize") {
    std::string s = case_map(target.str(), false);
    if (!s.empty() && static_cast<unsigned char>(s[0]) < 0x80) s[0] = static_cast<char>(std::toupper(s[0]));
    return Value(s);
  }
  if (name == "replace") {
    const int64_t count = arg(args, kwargs, 2, "count", Value::none()).is_none()
                              ? -1
                              : want_int(arg(args, kwargs, 2, "count"), "replace's count");
    return Value(replace(target.str(), want_string(arg(args, kwargs, 0, "old"), "replace's old"),
                         want_string(arg(args, kwargs, 1, "new"), "replace's new"), count));
  }
  if (name == "int") {
    if (target.is_int()) return Value(target.as_int());
    if (target.kind() == Value::Kind::kFloat) return Value(static_cast<int64_t>(target.as_float()));
    try {
      return Value(static_cast<int64_t>(std::stoll(strip(target.str(), Value(), true, true))));
    } catch (const std::exception&) {
      return arg(args, kwargs, 0, "default", Value(int64_t{0}));
    }
  }
  if (name == "float") {
    if (target.is_number()) return Value(target.as_float());
    try {
      return Value(std::stod(target.str()));
    } catch (const std::exception&) {
      return arg(args, kwargs, 0, "default", Value(0.0));
    }
  }
  if (name == "abs") {
    if (target.is_int()) return Value(std::abs(target.as_int()));
    if (target.is_number()) return Value(std::fabs(target.as_float()));
    type_error("abs: the value must be a number", target);
  }
  if (name == "reverse") {
    List items = iterate(target);
    std::reverse(items.begin(), items.end());
    if (!target.is_string()) return Value(std::move(items));
    std::string out;
    for (const Value& cp : items) out += cp.as_string();
    return Value(out);
  }
  if (name == "sort") {
    List items = iterate(target);
    const bool reverse = arg(args, kwargs, 0, "reverse", Value(false)).truthy();
    const Value attribute = arg(args, kwargs, 2, "attribute");
    const auto key = [&](const Value& v) {
      return attribute.is_string() ? attribute_path(v, attribute.as_string()) : v;
    };
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      return reverse ? less(key(b), key(a)) : less(key(a), key(b));
    });
    return Value(std::move(items));
  }
  if (name == "indent") {
    const Value width = arg(args, kwargs, 0, "width", Value(int64_t{4}));
    const std::string pad = width.is_string() ? width.as_string() : std::string(want_int(width, "indent's width"), ' ');
    const bool first = arg(args, kwargs, 1, "first", Value(false)).truthy();
    const bool blank = arg(args, kwargs, 2, "blank", Value(false)).truthy();
    std::string text = target.str(), out;
    size_t from = 0;
    bool first_line = true;
    for (;;) {
      const size_t nl = text.find('\n', from);
      const std::string line = text.substr(from, nl == std::string::npos ? std::string::npos : nl - from);
      if ((first_line ? first : true) && (blank || !line.empty())) out += pad;
      out += line;
      if (nl == std::string::npos) break;
      out += '\n';
      from = nl + 1;
      first_line = false;
    }
    return Value(out);
  }
  throw TemplateError("the filter '" + name + "' is not supported by this Jinja subset");
}

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
