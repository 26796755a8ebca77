// ICU regex over UTF-8 text through a UText, whose native indexes are byte offsets.
#include "tokenizer/hf_regex.h"

#include <unicode/regex.h>
#include <unicode/utext.h>

#include "core/error.h"

namespace moe::tokenizer {
namespace {

// Oniguruma's \s is U+0009..U+000D, U+0085 and the Z categories; ICU's lacks U+000B and U+0085.
// A nested set works inside and outside a class: [^\s\p{L}] -> [^[\t-\r\x{85}\p{Z}]\p{L}].
std::string onig_spaces(const std::string& pattern) {
  std::string out;
  for (size_t pos = 0; pos < pattern.size(); ++pos) {
    if (pattern[pos] != '\\' || pos + 1 == pattern.size()) {
      out += pattern[pos];
      continue;
    }
    const char next = pattern[++pos];
    if (next == 's') {
      out += "[\\t-\\r\\x{85}\\p{Z}]";
    } else if (next == 'S') {
      out += "[^\\t-\\r\\x{85}\\p{Z}]";
    } else {
      out += '\\';
      out += next;
    }
  }
  return out;
}

}  // namespace

struct HfRegex::Compiled {
  std::unique_ptr<icu::RegexPattern> pattern;
};

HfRegex::HfRegex(const std::string& pattern, const std::string& where) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse_error{};
  compiled_ = std::make_unique<Compiled>();
  compiled_->pattern.reset(
      icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(onig_spaces(pattern)), 0, parse_error, status));
  MOE_CHECK(U_SUCCESS(status) && compiled_->pattern, FormatError, where, ": regex '", pattern, "' does not compile (",
            u_errorName(status), " at offset ", parse_error.offset, ")");
}

HfRegex::~HfRegex() = default;
HfRegex::HfRegex(HfRegex&&) noexcept = default;

std::vector<std::pair<size_t, size_t>> HfRegex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  UErrorCode status = U_ZERO_ERROR;
  UText* utext = utext_openUTF8(nullptr, text.data(), static_cast<int64_t>(text.size()), &status);
  std::unique_ptr<icu::RegexMatcher> matcher(compiled_->pattern->matcher(status));
  MOE_CHECK(U_SUCCESS(status), FormatError, "regex matcher: ", u_errorName(status));
  matcher->reset(utext);
  while (matcher->find(status) && U_SUCCESS(status)) {
    const int64_t begin = matcher->start64(status);
    const int64_t end = matcher->end64(status);
    if (end > begin) matches.emplace_back(static_cast<size_t>(begin), static_cast<size_t>(end));
  }
  matcher.reset();
  utext_close(utext);
  MOE_CHECK(U_SUCCESS(status), FormatError, "regex match: ", u_errorName(status));
  return matches;
}

}  // namespace moe::tokenizer
