// Vocab <-> GGUF metadata: llama.cpp's keys and value types, a real file round trip, and errors
// that name the file and the key.
#include "tokenizer/gguf_vocab.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/hf_files.h"
#include "tokenizer/make_vocab.h"
#include "tokenizer/tokenizer.h"
#include "vocab_io_test.h"

namespace moe::tokenizer {
namespace {

using io::GgufType;

TEST(GgufVocab, KeysAndTypesAsLlamaCpp) {
  io::GgufMetadata meta;
  vocab_to_gguf(make_vocab(Vocab::Kind::kSpm, 600), meta);
  EXPECT_EQ(meta.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(meta.array_type("tokenizer.ggml.tokens"), GgufType::kString);
  EXPECT_EQ(meta.array_type("tokenizer.ggml.scores"), GgufType::kFloat32);
  EXPECT_EQ(meta.array_type("tokenizer.ggml.token_type"), GgufType::kInt32);
  EXPECT_EQ(meta.type("tokenizer.ggml.bos_token_id"), GgufType::kUint32);
  EXPECT_EQ(meta.type("tokenizer.ggml.eos_token_id"), GgufType::kUint32);
  EXPECT_EQ(meta.type("tokenizer.ggml.unknown_token_id"), GgufType::kUint32);
  EXPECT_EQ(meta.type("tokenizer.ggml.add_bos_token"), GgufType::kBool);
  EXPECT_FALSE(meta.has("tokenizer.ggml.merges"));

  io::GgufMetadata bpe;
  vocab_to_gguf(make_vocab(Vocab::Kind::kBpe, 600), bpe);
  EXPECT_EQ(bpe.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(bpe.get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(bpe.array_type("tokenizer.ggml.merges"), GgufType::kString);
  EXPECT_FALSE(bpe.has("tokenizer.ggml.scores"));
  EXPECT_FALSE(bpe.has("tokenizer.ggml.unknown_token_id"));
}

TEST(GgufVocab, FileRoundTripMatchesHfFiles) {
  for (auto kind : {Vocab::Kind::kSpm, Vocab::Kind::kBpe}) {
    Vocab vocab = make_vocab(kind, 1024);
    vocab.chat_template = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}\n{% endfor %}";
    const std::string dir = fresh_dir(kind == Vocab::Kind::kSpm ? "gguf_spm" : "gguf_bpe");
    io::GgufWriter writer;
    writer.metadata().set_string("general.architecture", "llama");
    vocab_to_gguf(vocab, writer.metadata());
    writer.write(dir + "/vocab.gguf");
    const io::GgufFile file = io::GgufFile::open(dir + "/vocab.gguf");
    const Vocab from_gguf = vocab_from_gguf(file.metadata(), file.path());
    expect_same_vocab(vocab, from_gguf);
    EXPECT_EQ(file.metadata().get_string("tokenizer.chat_template"), vocab.chat_template);

    write_hf_tokenizer(vocab, dir);
    const Tokenizer a(from_gguf), b(load_hf_vocab(dir));
    for (const char* text : {"The bridge at the centre of the town, isn't it?", "  x\n\ny 42 \xF0\x9F\x98\x80", ""}) {
      EXPECT_EQ(a.encode(text, true), b.encode(text, true)) << text;
    }
  }
}

void expect_format_error(const io::GgufMetadata& meta, const std::string& needle) {
  try {
    vocab_from_gguf(meta, "m.gguf");
    ADD_FAILURE() << "no error; wanted " << needle;
  } catch (const FormatError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("m.gguf"), std::string::npos) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << what;
  }
}

TEST(GgufVocab, MissingOrMismatchedKeys) {
  io::GgufMetadata good;
  vocab_to_gguf(make_vocab(Vocab::Kind::kSpm, 600), good);

  io::GgufMetadata meta = good;
  meta.set_string("tokenizer.ggml.model", "rwkv");
  expect_format_error(meta, "tokenizer.ggml.model");

  meta = good;
  meta.set_float_array("tokenizer.ggml.scores", {1.0f, 2.0f});
  expect_format_error(meta, "tokenizer.ggml.scores");

  meta = good;
  meta.set_int_array("tokenizer.ggml.token_type", {1, 1, 1});
  expect_format_error(meta, "tokenizer.ggml.token_type");

  meta = good;
  meta.set_string("tokenizer.ggml.tokens", "not an array");
  expect_format_error(meta, "tokenizer.ggml.tokens");

  meta = good;
  meta.set_int("tokenizer.ggml.eos_token_id", 600);
  expect_format_error(meta, "eos_token_id");

  io::GgufMetadata partial;
  partial.set_string("tokenizer.ggml.model", "gpt2");
  partial.set_string_array("tokenizer.ggml.tokens", {"a"});
  expect_format_error(partial, "tokenizer.ggml.pre");
  partial.set_string("tokenizer.ggml.pre", "qwen2");
  expect_format_error(partial, "tokenizer.ggml.merges");
}

}  // namespace
}  // namespace moe::tokenizer
