// The filters: Jinja2 3.1's, with transformers' tojson.
#include <algorithm>
#include <cmath>

#include "tokenizer/chat_template/builtin_args.h"
#include "tokenizer/chat_template/builtins.h"
#include "tokenizer/chat_template/python_str.h"

namespace moe::tokenizer::jinja {

namespace {

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

}  // namespace

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

}  // namespace moe::tokenizer::jinja
