// Hand-computed encodings on tiny hand-written SPM and BPE vocabularies, and decode round trips.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace moe::tokenizer {
namespace {

using Ids = std::vector<int32_t>;
const std::string kSp = "\xE2\x96\x81";  // U+2581

// 0 <unk>, 1 <s>, 2 </s>, then pieces with scores; no byte tokens, so unknown characters -> <unk>.
Vocab tiny_spm() {
  Vocab v;
  v.kind = Vocab::Kind::kSpm;
  auto add = [&](std::string piece, float score, int32_t type) {
    v.tokens.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, kTokenUnknown);      // 0
  add("<s>", 0, kTokenControl);        // 1
  add("</s>", 0, kTokenControl);       // 2
  add(kSp, -10, kTokenNormal);         // 3
  add("a", -10, kTokenNormal);         // 4
  add("b", -10, kTokenNormal);         // 5
  add("c", -10, kTokenNormal);         // 6
  add("ab", -1, kTokenNormal);         // 7
  add("bc", -0.5, kTokenNormal);       // 8
  add(kSp + "a", -2, kTokenNormal);    // 9
  add(kSp + "abc", -3, kTokenNormal);  // 10
  add("abc", -4, kTokenNormal);        // 11
  v.bos_id = 1;
  v.eos_id = 2;
  v.unk_id = 0;
  v.add_bos = true;
  return v;
}

TEST(SpmTokenizer, MergesHighestScoreFirst) {
  const Tokenizer tok(tiny_spm());
  // "▁abc": pairs ▁a -2, ab -1, bc -0.5. bc wins -> ▁ a bc; then ▁a (-2) beats a+bc=abc (-4)
  // -> ▁a bc; then ▁a+bc = ▁abc (-3).
  EXPECT_EQ(tok.encode("abc", false), (Ids{10}));
  // "▁cab": only ab is a piece -> ▁ c ab.
  EXPECT_EQ(tok.encode("cab", false), (Ids{3, 6, 7}));
  // "▁a▁b": ▁a merges; "a▁", "▁b" are not pieces.
  EXPECT_EQ(tok.encode("a b", true), (Ids{1, 9, 3, 5}));
}

TEST(SpmTokenizer, TiesGoLeftmost) {
  const Tokenizer tok(tiny_spm());
  // "▁abab": ab@1 and ab@3 tie at -1 and beat ▁a (-2); the left one merges first, which makes
  // ▁a stale. Result ▁ ab ab.
  EXPECT_EQ(tok.encode("abab", false), (Ids{3, 7, 7}));
  // "▁bcbc" -> ▁ bc bc; "bcb" is no piece, so order does not matter here, but "▁b" never forms.
  EXPECT_EQ(tok.encode("bcbc", false), (Ids{3, 8, 8}));
}

TEST(SpmTokenizer, UnknownWithoutByteTokens) {
  const Tokenizer tok(tiny_spm());
  // "▁ax": ▁a merges, x is no piece and there are no byte tokens -> <unk>.
  EXPECT_EQ(tok.encode("ax", false), (Ids{9, 0}));
  EXPECT_EQ(tok.decode(Ids{9, 0}), "a");  // <unk> renders as nothing
}

TEST(SpmTokenizer, ByteFallback) {
  Vocab v = tiny_spm();
  for (int byte = 0; byte < 256; ++byte) {  // ids 12..267
    v.tokens.push_back(spm_byte_piece(static_cast<uint8_t>(byte)));
    v.scores.push_back(0);
    v.types.push_back(kTokenByte);
  }
  const Tokenizer tok(v);
  // "▁ax!": ▁a, then x (0x78) and ! (0x21) as bytes 12 + value.
  EXPECT_EQ(tok.encode("ax!", false), (Ids{9, 12 + 0x78, 12 + 0x21}));
  // "é" is C3 A9: "▁é" -> ▁, <0xC3>, <0xA9>.
  EXPECT_EQ(tok.encode("\xC3\xA9", false), (Ids{3, 12 + 0xC3, 12 + 0xA9}));
  EXPECT_EQ(tok.decode(Ids{3, 12 + 0xC3, 12 + 0xA9}), "\xC3\xA9");
  EXPECT_EQ(tok.token_bytes(12 + 0x0A), "\n");
}

TEST(SpmTokenizer, EmptyAndSpaces) {
  const Tokenizer tok(tiny_spm());
  EXPECT_EQ(tok.encode("", false), Ids{});
  EXPECT_EQ(tok.encode("", true), Ids{1});
  // " a" -> "▁▁a": ▁a merges at the second ▁ -> ▁ ▁a; decode drops one dummy-prefix space.
  EXPECT_EQ(tok.encode(" a", false), (Ids{3, 9}));
  EXPECT_EQ(tok.decode(Ids{3, 9}), " a");
  EXPECT_EQ(tok.decode(Ids{1, 9, 3, 5, 2}), "a b");
}

TEST(SpmTokenizer, SpecialTokensInText) {
  const Tokenizer tok(tiny_spm());
  // "</s>" is matched verbatim; each text run gets its own dummy prefix: ▁a </s> ▁a.
  EXPECT_EQ(tok.encode("a</s>a", false), (Ids{9, 2, 9}));
}

// Byte-level BPE: token id == byte value for the 256 GPT-2 byte characters, then merges.
Vocab tiny_bpe(const std::string& pre) {
  Vocab v;
  v.kind = Vocab::Kind::kBpe;
  v.pre = pre;
  for (int byte = 0; byte < 256; ++byte) v.tokens.push_back(byte_to_unicode(static_cast<uint8_t>(byte)));
  const std::string g = byte_to_unicode(' ');  // "Ġ"
  v.tokens.push_back("he");                    // 256
  v.tokens.push_back(g + "t");                 // 257
  v.tokens.push_back(g + "the");               // 258
  v.tokens.push_back(g + g);                   // 259
  v.tokens.push_back("12");                    // 260
  v.tokens.push_back("<|endoftext|>");         // 261
  v.merges = {"h e", g + " t", g + "t he", g + " " + g, "1 2"};
  v.types.assign(v.tokens.size(), kTokenNormal);
  v.types[261] = kTokenControl;
  v.bos_id = v.eos_id = 261;
  return v;
}

TEST(BpeTokenizer, MergesByRank) {
  const Tokenizer tok(tiny_bpe("qwen2"));
  // " the": Ġ t h e; "h e" (rank 0) before "Ġ t" (rank 1), then "Ġt he" (rank 2).
  EXPECT_EQ(tok.encode(" the", false), (Ids{258}));
  // "the  the" pre-tokenizes to "the", " ", " the": t he | Ġ | Ġthe.
  EXPECT_EQ(tok.encode("the  the", false), (Ids{'t', 256, ' ', 258}));
  // "   x": whitespace run of 3 before a letter gives back one space: "  " -> ĠĠ, " x" -> Ġ x.
  EXPECT_EQ(tok.encode("   x", false), (Ids{259, ' ', 'x'}));
}

TEST(BpeTokenizer, DigitsDifferBetweenPreTokenizers) {
  // Qwen2 splits digits one by one, so "1 2" never applies; GPT-2 keeps " ?\p{N}+" together.
  EXPECT_EQ(Tokenizer(tiny_bpe("qwen2")).encode("123", false), (Ids{'1', '2', '3'}));
  EXPECT_EQ(Tokenizer(tiny_bpe("gpt2")).encode("123", false), (Ids{260, '3'}));
}

TEST(BpeTokenizer, SpecialTokensAndBytes) {
  const Tokenizer tok(tiny_bpe("qwen2"));
  EXPECT_EQ(tok.encode("hi<|endoftext|>", false), (Ids{'h', 'i', 261}));
  EXPECT_EQ(tok.encode("\xC3\xA9", true), (Ids{261, 0xC3, 0xA9}));
  EXPECT_EQ(tok.decode(Ids{261, 0xC3, 0xA9, 258}), "\xC3\xA9 the");
  EXPECT_EQ(tok.token_bytes(259), "  ");
}

TEST(Tokenizer, RejectsBadVocab) {
  Vocab v = tiny_spm();
  v.scores.pop_back();
  EXPECT_THROW(Tokenizer{v}, FormatError);
  v = tiny_spm();
  v.eos_id = 99;
  EXPECT_THROW(Tokenizer{v}, FormatError);
  v = tiny_spm();
  v.unk_id.reset();  // neither byte tokens nor <unk>
  EXPECT_THROW(Tokenizer{v}, FormatError);
  Vocab b = tiny_bpe("qwen2");
  b.merges.push_back("he x");  // "hex" is not a token
  EXPECT_THROW(Tokenizer{b}, FormatError);
  b = tiny_bpe("llama3");
  EXPECT_THROW(Tokenizer{b}, FormatError);
  const Tokenizer tok(tiny_spm());
  EXPECT_THROW(tok.decode(Ids{12}), FormatError);
}

}  // namespace
}  // namespace moe::tokenizer
