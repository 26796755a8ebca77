// The hand-written pre-tokenizers against the regexes. Expected splits were computed with
// Python's `regex` module: regex.findall(pattern, text) with the patterns in pre_tokenizer.h.
#include "tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

namespace moe::tokenizer {
namespace {

using Words = std::vector<std::string_view>;

struct Case {
  std::string text;
  Words qwen2, gpt2;
};

TEST(PreTokenizer, MatchesRegexFindall) {
  const std::vector<Case> cases = {
      {"Hello world", {"Hello", " world"}, {"Hello", " world"}},
      // (?i:...) contractions in Qwen2 only; GPT-2's are case-sensitive.
      {"I'M here, it's", {"I", "'M", " here", ",", " it", "'s"}, {"I", "'", "M", " here", ",", " it", "'s"}},
      // Qwen2: one digit per word; GPT-2: runs of digits.
      {"abc123def", {"abc", "1", "2", "3", "def"}, {"abc", "123", "def"}},
      // \s+(?!\S) leaves the last space to prefix the next word.
      {"a  b   c", {"a", " ", " b", "  ", " c"}, {"a", " ", " b", "  ", " c"}},
      {"x\n\n  y", {"x", "\n\n", " ", " y"}, {"x", "\n\n ", " y"}},
      {"hi!!\n\nthere", {"hi", "!!\n\n", "there"}, {"hi", "!!", "\n", "\n", "there"}},
      {"  \n ", {"  \n", " "}, {"  \n "}},
      {" 'sup", {" '", "sup"}, {" '", "sup"}},
      // Qwen2's optional prefix is any non-letter, non-digit, non-newline character.
      {"$x 9", {"$x", " ", "9"}, {"$", "x", " 9"}},
      {"caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87",
       {"caf\xC3\xA9", " \xE4\xB8\xAD\xE6\x96\x87"},
       {"caf\xC3\xA9", " \xE4\xB8\xAD\xE6\x96\x87"}},
      {"\xC2\xA0x", {"\xC2\xA0x"}, {"\xC2\xA0", "x"}},  // U+00A0 is \s
      {"end   ", {"end", "   "}, {"end", "   "}},
      {"", {}, {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(pre_tokenize(c.text, PreTokenizer::kQwen2), c.qwen2) << "qwen2: '" << c.text << "'";
    EXPECT_EQ(pre_tokenize(c.text, PreTokenizer::kGpt2), c.gpt2) << "gpt2: '" << c.text << "'";
  }
}

TEST(PreTokenizer, LongSFoldsToS) {
  // U+017F LATIN SMALL LETTER LONG S case-folds to 's', so (?i:'s) takes it.
  EXPECT_EQ(pre_tokenize("it'\xC5\xBF", PreTokenizer::kQwen2), (Words{"it", "'\xC5\xBF"}));
}

TEST(PreTokenizer, InvalidBytesAreOtherCharacters) {
  EXPECT_EQ(pre_tokenize("a\xFF\xFE b", PreTokenizer::kQwen2), (Words{"a", "\xFF\xFE", " b"}));
}

}  // namespace
}  // namespace moe::tokenizer
