// Python's str methods, as CPython implements them for the cases templates meet.
#include "tokenizer/chat_template/python_str.h"

#include <algorithm>

#include "tokenizer/chat_template/builtin_args.h"

namespace moe::tokenizer::jinja {

bool is_py_space(const std::string& cp) {
  return cp.size() == 1 && (cp[0] == ' ' || (cp[0] >= '\t' && cp[0] <= '\r') || (cp[0] >= '\x1c' && cp[0] <= '\x1f'));
}

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

}  // namespace moe::tokenizer::jinja
