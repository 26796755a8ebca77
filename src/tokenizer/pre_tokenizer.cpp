// The pre-tokenizer regexes as a scan over code points. At each position the alternatives are
// tried in the regex's order; each branch below names the alternative it implements.
#include "tokenizer/pre_tokenizer.h"

#include <cstdint>

#include "tokenizer/unicode.h"

namespace moe::tokenizer {
namespace {

constexpr uint32_t kEnd = 0xFFFFFFFE;  // past the end of the text: in no class

struct Chars {
  std::vector<uint32_t> cpts;
  std::vector<size_t> offsets;  // byte offset of each code point, plus the text's size

  explicit Chars(std::string_view text) {
    for (size_t pos = 0; pos < text.size();) {
      size_t len = 0;
      cpts.push_back(utf8_decode(text, pos, len));
      offsets.push_back(pos);
      pos += len;
    }
    offsets.push_back(text.size());
  }
  size_t size() const { return cpts.size(); }
  uint32_t at(size_t idx) const { return idx < cpts.size() ? cpts[idx] : kEnd; }
  bool letter(size_t idx) const { return is_letter(at(idx)); }
  bool number(size_t idx) const { return is_number(at(idx)); }
  bool space(size_t idx) const { return is_whitespace(at(idx)); }
  bool newline(size_t idx) const { return at(idx) == '\r' || at(idx) == '\n'; }
  // [^\s\p{L}\p{N}]: any character of the text outside the three classes.
  bool other(size_t idx) const { return idx < size() && !space(idx) && !letter(idx) && !number(idx); }
};

// (?i:...) folds case; U+017F LATIN SMALL LETTER LONG S folds to 's' too.
bool char_is(uint32_t cpt, char lower) {
  if (cpt == static_cast<uint32_t>(lower) || cpt == static_cast<uint32_t>(lower - 'a' + 'A')) return true;
  return lower == 's' && cpt == 0x17F;
}

// Length of the contraction ('s 't 're 've 'm 'll 'd) at idx, 0 if none.
size_t contraction(const Chars& chars, size_t idx, bool ignore_case) {
  if (chars.at(idx) != '\'') return 0;
  auto is = [&](size_t k, char c) {
    return ignore_case ? char_is(chars.at(k), c) : chars.at(k) == static_cast<uint32_t>(c);
  };
  if (is(idx + 1, 's') || is(idx + 1, 't') || is(idx + 1, 'm') || is(idx + 1, 'd')) return 2;
  if ((is(idx + 1, 'r') && is(idx + 2, 'e')) || (is(idx + 1, 'v') && is(idx + 2, 'e')) ||
      (is(idx + 1, 'l') && is(idx + 2, 'l')))
    return 3;
  return 0;
}

// \s+(?!\S)|\s+ at idx (a whitespace character): a run followed by a non-space gives back its
// last character, which then prefixes the next word.
size_t whitespace_run(const Chars& chars, size_t idx) {
  size_t end = idx;
  while (chars.space(end)) ++end;
  if (end - idx > 1 && end < chars.size()) --end;
  return end;
}

size_t match_qwen2(const Chars& chars, size_t idx) {
  if (size_t len = contraction(chars, idx, true)) return idx + len;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  size_t letters = idx;
  if (!chars.letter(idx) && !chars.newline(idx) && !chars.number(idx)) ++letters;
  if (chars.letter(letters)) {
    while (chars.letter(letters)) ++letters;
    return letters;
  }
  // \p{N}
  if (chars.number(idx)) return idx + 1;
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t punct = chars.at(idx) == ' ' ? idx + 1 : idx;
  if (chars.other(punct)) {
    while (chars.other(punct)) ++punct;
    while (chars.newline(punct)) ++punct;
    return punct;
  }
  // \s*[\r\n]+ : the longest whitespace run that ends in a newline.
  size_t end = idx;
  size_t after_newline = idx;
  while (chars.space(end)) {
    if (chars.newline(end)) after_newline = end + 1;
    ++end;
  }
  if (after_newline > idx) return after_newline;
  return whitespace_run(chars, idx);
}

size_t match_gpt2(const Chars& chars, size_t idx) {
  if (size_t len = contraction(chars, idx, false)) return idx + len;
  size_t start = chars.at(idx) == ' ' ? idx + 1 : idx;  // the optional leading space
  // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
  for (auto in_class : {&Chars::letter, &Chars::number, &Chars::other}) {
    if ((chars.*in_class)(start)) {
      size_t end = start;
      while ((chars.*in_class)(end)) ++end;
      return end;
    }
  }
  return whitespace_run(chars, idx);
}

}  // namespace

std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizer kind) {
  const Chars chars(text);
  std::vector<std::string_view> words;
  for (size_t idx = 0; idx < chars.size();) {
    size_t end = kind == PreTokenizer::kQwen2 ? match_qwen2(chars, idx) : match_gpt2(chars, idx);
    words.push_back(text.substr(chars.offsets[idx], chars.offsets[end] - chars.offsets[idx]));
    idx = end;
  }
  return words;
}

}  // namespace moe::tokenizer
