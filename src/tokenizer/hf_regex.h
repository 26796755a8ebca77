// HfRegex: a Split pattern of tokenizer.json (Oniguruma syntax as HF writes it: \p{L}, \p{N},
// \p{M}, (?i:...), (?!\S), {1,3}) compiled with ICU's regex engine, matched over UTF-8 text.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moe::tokenizer {

class HfRegex {
 public:
  // A pattern ICU cannot compile -> FormatError naming `where` (the JSON path).
  HfRegex(const std::string& pattern, const std::string& where);
  ~HfRegex();
  HfRegex(HfRegex&&) noexcept;

  // The successive non-overlapping matches as [begin, end) byte offsets; empty matches skipped.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  struct Compiled;  // ICU's RegexPattern
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace moe::tokenizer
