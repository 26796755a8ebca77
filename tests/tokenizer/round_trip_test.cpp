// decode(encode(text)) == text on fixed strings and seeded random UTF-8, for both vocab kinds.
#include <gtest/gtest.h>

#include <random>

#include "random_text.h"
#include "tokenizer/make_vocab.h"
#include "tokenizer/tokenizer.h"

namespace moe::tokenizer {
namespace {

const std::vector<std::string>& fixed_texts() {
  static const std::vector<std::string> texts = {
      "",
      " ",
      "  ",
      "\n",
      "\n\n\t \r\n",
      "Hello, world!",
      " leading and trailing spaces  ",
      "multiple    spaces\tand\ttabs",
      "line one\nline two\r\nline three\n",
      "It's what they'll do, isn't it? I'd say we've I'm",
      "Numbers: 0 12 345 6789 3.14159 -42 1,000,000",
      "caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9",                // café naïve résumé
      "\xE4\xB8\xAD\xE6\x96\x87\xE6\x96\x87\xE6\x9C\xAC",             // 中文文本
      "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD done",  // 😀👍🏽
      "e\xCC\x81 combining acute, \xE2\x80\x8B zero width",           // e + U+0301, U+200B
      "\xC2\xA0nbsp\xE3\x80\x80ideographic space",                    // U+00A0, U+3000
      "punctuation!!! ??? ... ---- ((( )))",
      "The river wakes before the town does.",
  };
  return texts;
}

void expect_round_trips(const Tokenizer& tok, const std::string& text) {
  EXPECT_EQ(tok.decode(tok.encode(text, false)), text) << "text: '" << text << "'";
  EXPECT_EQ(tok.decode(tok.encode(text, true)), text) << "text: '" << text << "'";
}

class RoundTrip : public ::testing::TestWithParam<Vocab::Kind> {};

TEST_P(RoundTrip, FixedStrings) {
  const Tokenizer tok(make_vocab(GetParam(), 1024));
  for (const std::string& text : fixed_texts()) expect_round_trips(tok, text);
}

TEST_P(RoundTrip, RandomUtf8) {
  const Tokenizer tok(make_vocab(GetParam(), 1024));
  std::mt19937 rng(1234);
  for (int sample = 0; sample < 2000; ++sample) expect_round_trips(tok, random_utf8(rng, sample % 40));
}

TEST_P(RoundTrip, InvalidUtf8StillRoundTrips) {
  const Tokenizer tok(make_vocab(GetParam(), 1024));
  // Stray continuation byte, truncated 2-byte sequence, overlong '/', a surrogate, 0xFF.
  expect_round_trips(tok, "a\x80 b\xC3 c\xC0\xAF d\xED\xA0\x80 e\xFF");
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, RoundTrip, ::testing::Values(Vocab::Kind::kSpm, Vocab::Kind::kBpe),
                         [](const auto& info) { return info.param == Vocab::Kind::kSpm ? "Spm" : "Bpe"; });

}  // namespace
}  // namespace moe::tokenizer
