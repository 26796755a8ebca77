// tokenizer.json / tokenizer.model / tokenizer_config.json: write then load gives the same Vocab
// and ids, libsentencepiece agrees with our SPM encoder, and bad files name themselves.
#include "tokenizer/hf_files.h"

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <filesystem>
#include <random>

#include "core/error.h"
#include "random_text.h"
#include "tokenizer/make_vocab.h"
#include "tokenizer/tokenizer.h"
#include "vocab_io_test.h"

namespace moe::tokenizer {
namespace {

std::vector<std::string> sample_texts() {
  std::vector<std::string> texts = {
      "",
      " ",
      "   ",
      "\n",
      "a",
      "Hello world",
      "  two leading spaces",
      "trailing  ",
      "The river wakes before the town does.\nPeople who live near it learn to read its moods.",
      "It's 4 o'clock; we've 12,345 books.",
      "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80",
      "tabs\tand\r\nnewlines\n\n",
      "e\xCC\x81\xE2\x80\x8B\xC2\xA0\xE3\x80\x80",
  };
  std::mt19937 rng(99);
  for (int sample = 0; sample < 1500; ++sample) texts.push_back(random_utf8(rng, sample % 50));
  // Stretches of the training text, where merges (not byte fallback) do the work.
  const std::string_view english = english_text();
  for (int sample = 0; sample < 500; ++sample) {
    const size_t start = std::uniform_int_distribution<size_t>(0, english.size() - 1)(rng);
    texts.emplace_back(english.substr(start, std::uniform_int_distribution<size_t>(1, 300)(rng)));
  }
  return texts;
}

void expect_same_ids(const Vocab& a, const Vocab& b) {
  const Tokenizer ta(a), tb(b);
  for (const std::string& text : sample_texts()) ASSERT_EQ(ta.encode(text, true), tb.encode(text, true)) << text;
}

TEST(HfFiles, SpmJsonAndModelLoadTheSameVocab) {
  const Vocab vocab = make_vocab(Vocab::Kind::kSpm, 1024);
  const std::string dir = fresh_dir("hf_spm");
  write_hf_tokenizer(vocab, dir);
  const Vocab from_json = load_hf_vocab(dir);  // tokenizer.json wins when both are there
  expect_same_vocab(vocab, from_json);
  std::filesystem::remove(dir + "/tokenizer.json");
  const Vocab from_model = load_hf_vocab(dir);
  expect_same_vocab(vocab, from_model);
  expect_same_ids(from_json, from_model);
}

TEST(HfFiles, BpeJsonRoundTrip) {
  const Vocab vocab = make_vocab(Vocab::Kind::kBpe, 1024);
  const std::string dir = fresh_dir("hf_bpe");
  write_hf_tokenizer(vocab, dir);
  EXPECT_FALSE(std::filesystem::exists(dir + "/tokenizer.model"));
  const Vocab loaded = load_hf_vocab(dir);
  expect_same_vocab(vocab, loaded);
  expect_same_ids(vocab, loaded);
}

TEST(HfFiles, Gpt2PreTokenizerRoundTrip) {
  Vocab vocab = make_vocab(Vocab::Kind::kBpe, 600);
  vocab.pre = "gpt2";
  const std::string dir = fresh_dir("hf_gpt2");
  write_hf_tokenizer(vocab, dir);
  expect_same_vocab(vocab, load_hf_vocab(dir));
}

TEST(HfFiles, SentencePieceLibraryAgrees) {
  const Vocab vocab = make_vocab(Vocab::Kind::kSpm, 2048);
  const std::string dir = fresh_dir("hf_sp_lib");
  write_hf_tokenizer(vocab, dir);
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load(dir + "/tokenizer.model").ok());
  EXPECT_EQ(sp.bos_id(), vocab.bos_id);
  EXPECT_EQ(sp.eos_id(), vocab.eos_id);
  EXPECT_EQ(sp.unk_id(), *vocab.unk_id);
  const Tokenizer tok(vocab);
  int64_t n_tokens = 0;
  for (const std::string& text : sample_texts()) {
    std::vector<int> expected;
    ASSERT_TRUE(sp.Encode(text, &expected).ok());
    ASSERT_EQ(tok.encode(text, false), std::vector<int32_t>(expected.begin(), expected.end())) << text;
    n_tokens += static_cast<int64_t>(expected.size());
  }
  EXPECT_GT(n_tokens, 10000);  // the comparison covered real work, byte fallback included
}

// Unused pieces may be merged through, then are split back into the two symbols that formed
// them (SentencePiece's resegmentation).
TEST(HfFiles, SentencePieceLibraryAgreesOnUnusedPieces) {
  Vocab v;
  v.kind = Vocab::Kind::kSpm;
  auto add = [&](std::string piece, float score, int32_t type) {
    v.tokens.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, kTokenUnknown);
  add("<s>", 0, kTokenControl);
  add("</s>", 0, kTokenControl);
  for (int byte = 0; byte < 256; ++byte) add(spm_byte_piece(static_cast<uint8_t>(byte)), 0, kTokenByte);
  const std::string sp = "\xE2\x96\x81";
  add(sp, -1, kTokenNormal);
  add("a", -1, kTokenNormal);
  add("b", -1, kTokenNormal);
  add("c", -1, kTokenNormal);
  add("ab", 5, kTokenUnused);   // merges first, never emitted
  add("abc", 4, kTokenNormal);  // reachable only through "ab"
  add("bc", 1, kTokenNormal);
  add(sp + "a", 0, kTokenNormal);
  add("ba", 2, kTokenUnused);
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  v.add_bos = true;
  const std::string dir = fresh_dir("hf_sp_unused");
  write_hf_tokenizer(v, dir);
  sentencepiece::SentencePieceProcessor processor;
  ASSERT_TRUE(processor.Load(dir + "/tokenizer.model").ok());
  const Tokenizer tok(v);
  std::mt19937 rng(3);
  const std::string alphabet = "abc ";
  for (int sample = 0; sample < 2000; ++sample) {
    std::string text;
    for (int k = sample % 12; k > 0; --k) text += alphabet[rng() % alphabet.size()];
    std::vector<int> expected;
    ASSERT_TRUE(processor.Encode(text, &expected).ok());
    ASSERT_EQ(tok.encode(text, false), std::vector<int32_t>(expected.begin(), expected.end())) << text;
  }
  // Ids: 259 ▁, 260 a, 261 b, 262 c, 263 ab, 264 abc, 265 bc, 266 ▁a, 267 ba.
  // "▁abc": ab (5) merges first, then ab+c = abc (4) -> one token, though "ab" itself is unused.
  EXPECT_EQ(tok.encode("abc", false), (std::vector<int32_t>{259, 264}));
  // "▁ab": ab (5) beats ▁a (0) and nothing extends it, so the unused ab is split back: ▁ a b.
  EXPECT_EQ(tok.encode("ab", false), (std::vector<int32_t>{259, 260, 261}));
}

TEST(HfFiles, ConfigOverridesSpecials) {
  const Vocab vocab = make_vocab(Vocab::Kind::kBpe, 600);
  const std::string dir = fresh_dir("hf_config");
  write_hf_tokenizer(vocab, dir);
  write_file(dir + "/tokenizer_config.json",
             R"({"bos_token": null, "eos_token": {"content": "<|im_end|>"}, "pad_token": "<|endoftext|>",
                 "add_bos_token": false})");
  const Vocab loaded = load_hf_vocab(dir);
  EXPECT_EQ(loaded.eos_id, 599);
  EXPECT_EQ(loaded.bos_id, 599);  // no BOS: falls back to EOS
  EXPECT_EQ(loaded.pad_id, 597);
  std::filesystem::remove(dir + "/tokenizer_config.json");
  EXPECT_EQ(load_hf_vocab(dir).eos_id, 597);  // "<|endoftext|>" by default
}

TEST(HfFiles, ChatTemplateFromConfigOrJinjaFile) {
  Vocab vocab = make_vocab(Vocab::Kind::kBpe, 600);
  vocab.chat_template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
  const std::string dir = fresh_dir("hf_chat_template");
  write_hf_tokenizer(vocab, dir);
  EXPECT_EQ(load_hf_vocab(dir).chat_template, vocab.chat_template);
  // The list of named templates: "default" is the one.
  write_file(dir + "/tokenizer_config.json",
             R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})");
  EXPECT_EQ(load_hf_vocab(dir).chat_template, "D");
  write_file(dir + "/chat_template.jinja", "J\n");  // transformers' separate file wins
  EXPECT_EQ(load_hf_vocab(dir).chat_template, "J\n");
  std::filesystem::remove(dir + "/chat_template.jinja");
  write_file(dir + "/tokenizer_config.json", R"({"chat_template": 7})");
  try {
    load_hf_vocab(dir);
    ADD_FAILURE() << "no error for a chat_template of 7";
  } catch (const FormatError& error) {
    EXPECT_NE(std::string(error.what()).find("tokenizer_config.json: chat_template is neither"), std::string::npos)
        << error.what();
  }
}

template <typename ErrorType>
void expect_error_naming(const std::string& dir, const std::string& needle) {
  try {
    load_hf_vocab(dir);
    ADD_FAILURE() << "no error for " << dir;
  } catch (const ErrorType& error) {
    EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
  }
}

TEST(HfFiles, BadFilesNameThemselves) {
  const Vocab vocab = make_vocab(Vocab::Kind::kSpm, 600);
  const std::string dir = fresh_dir("hf_bad");
  write_hf_tokenizer(vocab, dir);
  const std::string json = read_file(dir + "/tokenizer.json");
  write_file(dir + "/tokenizer.json", json.substr(0, json.size() / 2));
  expect_error_naming<FormatError>(dir, dir + "/tokenizer.json");

  write_file(dir + "/tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  expect_error_naming<FormatError>(dir, "Unigram");
  write_file(dir + "/tokenizer.json", R"({"model": {"type": "BPE", "vocab": 3}})");
  expect_error_naming<FormatError>(dir, dir + "/tokenizer.json");

  std::filesystem::remove(dir + "/tokenizer.json");
  std::mt19937 rng(5);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  write_file(dir + "/tokenizer.model", garbage);
  expect_error_naming<FormatError>(dir, dir + "/tokenizer.model");

  const std::string empty = fresh_dir("hf_empty");
  expect_error_naming<IoError>(empty, empty);

  write_hf_tokenizer(vocab, dir);
  write_file(dir + "/tokenizer_config.json", R"({"eos_token": "<nope>"})");
  expect_error_naming<FormatError>(dir, "eos_token '<nope>'");
}

}  // namespace
}  // namespace moe::tokenizer
