// make_vocab: exact sizes, the promised layout, and the same output on every call.
#include "tokenizer/make_vocab.h"

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace moe::tokenizer {
namespace {

bool same(const Vocab& a, const Vocab& b) {
  return a.kind == b.kind && a.tokens == b.tokens && a.scores == b.scores && a.types == b.types &&
         a.merges == b.merges && a.bos_id == b.bos_id && a.eos_id == b.eos_id && a.unk_id == b.unk_id &&
         a.pad_id == b.pad_id && a.add_bos == b.add_bos && a.pre == b.pre;
}

TEST(MakeVocab, SizedExactlyAndDeterministic) {
  for (auto kind : {Vocab::Kind::kSpm, Vocab::Kind::kBpe}) {
    for (int32_t n_tokens : {512, 777, 1024, 32000}) {
      const Vocab v = make_vocab(kind, n_tokens);
      EXPECT_EQ(v.tokens.size(), static_cast<size_t>(n_tokens));
      EXPECT_EQ(std::set<std::string>(v.tokens.begin(), v.tokens.end()).size(), v.tokens.size());
      EXPECT_TRUE(same(v, make_vocab(kind, n_tokens)));
      EXPECT_NO_THROW(Tokenizer{v});
    }
  }
}

TEST(MakeVocab, SpmLayout) {
  const Vocab v = make_vocab(Vocab::Kind::kSpm, 512);
  EXPECT_EQ(v.tokens[0], "<unk>");
  EXPECT_EQ(v.tokens[1], "<s>");
  EXPECT_EQ(v.tokens[2], "</s>");
  EXPECT_EQ(v.tokens[3], "<0x00>");
  EXPECT_EQ(v.tokens[258], "<0xFF>");
  EXPECT_EQ(v.types[258], kTokenByte);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_TRUE(v.add_bos);
  // Merged pieces follow with scores 0, -1, -2, ...; the first is a frequent pair of the text.
  EXPECT_EQ(v.scores[259], 0.0f);
  EXPECT_EQ(v.scores[260], -1.0f);
  EXPECT_EQ(v.types[259], kTokenNormal);
  // A larger vocabulary keeps the smaller one's first merges: training is a prefix.
  const Vocab big = make_vocab(Vocab::Kind::kSpm, 1024);
  EXPECT_EQ(big.tokens[259], v.tokens[259]);
  EXPECT_EQ(big.tokens[300], v.tokens[300]);
}

TEST(MakeVocab, BpeLayout) {
  const Vocab v = make_vocab(Vocab::Kind::kBpe, 600);
  EXPECT_EQ(v.tokens[0], "!");           // GPT-2 order: '!' is the first byte that maps to itself
  EXPECT_EQ(v.tokens[255], "\xC5\x83");  // U+0143, the last remapped byte (0xAD)
  EXPECT_EQ(v.tokens[597], "<|endoftext|>");
  EXPECT_EQ(v.tokens[598], "<|im_start|>");
  EXPECT_EQ(v.tokens[599], "<|im_end|>");
  EXPECT_EQ(v.bos_id, 597);
  EXPECT_EQ(v.eos_id, 597);
  EXPECT_EQ(v.types[599], kTokenControl);
  EXPECT_EQ(v.pre, "qwen2");
  EXPECT_FALSE(v.add_bos);
  EXPECT_TRUE(v.scores.empty());
  EXPECT_FALSE(v.merges.empty());
  // The text's most common word should be a single token: " the" (Ġthe).
  const Tokenizer tok(v);
  EXPECT_EQ(tok.encode(" the", false).size(), 1u);
}

TEST(MakeVocab, RejectsTinySizes) {
  EXPECT_THROW(make_vocab(Vocab::Kind::kSpm, 511), ConfigError);
  EXPECT_THROW(make_vocab(Vocab::Kind::kBpe, 100), ConfigError);
}

}  // namespace
}  // namespace moe::tokenizer
