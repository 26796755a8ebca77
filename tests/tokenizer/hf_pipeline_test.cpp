// tokenizer.json read generally: the small hand-made files of tests/tokenizer/hf (NFC, DeepSeek-V3's
// and o200k's Split regexes, Digits, ByteLevel's regex, Replace, Lowercase, Removed, ignore_merges,
// added tokens, a BOS template) give tokenizers.js's ids (golden_<name>.json, make_goldens.sh);
// unsupported components are refused naming their JSON path; and, when tests/tokenizer/hf/
// real_test.sh points MOE_HF_REAL_DIR at the real Qwen3 / DeepSeek-V3 / gpt-oss files, those too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/json_file.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/hf_files.h"
#include "tokenizer/tokenizer.h"

namespace moe::tokenizer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kHfDir = std::string(MOE_SOURCE_DIR) + "/tests/tokenizer/hf";

std::vector<std::string> texts(const std::string& path) {
  return io::read_json_file(path).at("texts").get<std::vector<std::string>>();
}

// A model directory holding `tokenizer` as tokenizer.json and an EOS in tokenizer_config.json.
std::string model_dir(const std::string& name, const json& tokenizer) {
  const std::string dir = std::string(MOE_TEST_TMP) + "/hf_pipeline/" + name;
  fs::create_directories(dir);
  io::write_json_file(dir + "/tokenizer.json", tokenizer);
  io::write_json_file(dir + "/tokenizer_config.json", json{{"eos_token", "<|end|>"}});
  return dir;
}

json small(const std::string& name) { return io::read_json_file(kHfDir + "/" + name + ".json"); }

void expect_golden(const Tokenizer& tok, const std::string& name) {
  const json golden = io::read_json_file(kHfDir + "/golden_" + name + ".json");
  const std::vector<std::string> all = texts(kHfDir + "/texts.json");
  ASSERT_EQ(golden.at("plain").size(), all.size());
  for (size_t idx = 0; idx < all.size(); ++idx) {
    // tokenizers.js's Digits splits on JavaScript's \d (ASCII only); HF's Rust Digits, and ours, on
    // every numeric character (char::is_numeric), so the Arabic-Indic digits part ways there.
    if (name == "digits_bytelevel" && all[idx].find("\xD9\xA1") != std::string::npos) continue;
    EXPECT_EQ(tok.encode(all[idx], false), golden["plain"][idx].get<std::vector<int32_t>>())
        << name << ": " << all[idx];
    EXPECT_EQ(tok.encode(all[idx], tok.vocab().add_bos), golden["with_special"][idx].get<std::vector<int32_t>>())
        << name << " (special tokens added): " << all[idx];
  }
}

class SmallFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(SmallFiles, MatchTokenizersJs) {
  const Vocab vocab = load_hf_vocab(model_dir(GetParam(), small(GetParam())));
  EXPECT_EQ(vocab.pre, "hf");
  expect_golden(Tokenizer(vocab), GetParam());
}

TEST_P(SmallFiles, WriteThenLoadKeepsTheIds) {
  const Vocab vocab = load_hf_vocab(model_dir(GetParam(), small(GetParam())));
  const std::string dir = std::string(MOE_TEST_TMP) + "/hf_pipeline/" + GetParam() + "_written";
  write_hf_tokenizer(vocab, dir);
  expect_golden(Tokenizer(load_hf_vocab(dir)), GetParam());
}

INSTANTIATE_TEST_SUITE_P(HfPipeline, SmallFiles,
                         ::testing::Values("nfc_qwen", "deepseek", "o200k", "digits_bytelevel", "removed_lower"));

// The FormatError load_hf_vocab throws for `tokenizer`, or "" if it loads.
std::string load_error(const std::string& name, const json& tokenizer) {
  try {
    load_hf_vocab(model_dir(name, tokenizer));
  } catch (const FormatError& error) {
    return error.what();
  }
  return "";
}

TEST(HfPipeline, RefusesWhatItDoesNotReadNamingTheJsonPath) {
  json foo = small("deepseek");
  foo["pre_tokenizer"]["pretokenizers"][1] = {{"type", "Foo"}};
  EXPECT_NE(load_error("foo", foo).find("pre_tokenizer.pretokenizers[1].type 'Foo' is not supported"),
            std::string::npos)
      << load_error("foo", foo);

  json bad_norm = small("nfc_qwen");
  bad_norm["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "BertNormalizer"}}}}};
  EXPECT_NE(load_error("norm", bad_norm).find("normalizer.normalizers[1].type 'BertNormalizer' is not supported"),
            std::string::npos);

  json bad_regex = small("nfc_qwen");
  bad_regex["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(\\p{L}";
  EXPECT_NE(load_error("regex", bad_regex).find("pre_tokenizer.pretokenizers[0].pattern: regex '(\\p{L}'"),
            std::string::npos)
      << load_error("regex", bad_regex);

  json metaspace = small("nfc_qwen");
  metaspace["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}};
  EXPECT_NE(load_error("metaspace", metaspace).find("pre_tokenizer.pretokenizers[0].type 'Metaspace' is not supported"),
            std::string::npos)
      << load_error("metaspace", metaspace);

  json suffix_bos = small("deepseek");
  suffix_bos["post_processor"]["single"] = {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                            {{"SpecialToken", {{"id", "<|end|>"}, {"type_id", 0}}}}};
  EXPECT_NE(load_error("suffix", suffix_bos).find("post_processor.single[1] adds '<|end|>' after the text"),
            std::string::npos)
      << load_error("suffix", suffix_bos);
}

// Qwen3's pipeline goes to GGUF as llama.cpp's "qwen2" (which, like llama.cpp, drops NFC);
// one with no llama.cpp name we write is refused.
TEST(HfPipeline, GgufNamesQwenPipelineAndRefusesOthers) {
  io::GgufMetadata meta;
  vocab_to_gguf(load_hf_vocab(model_dir("nfc_qwen", small("nfc_qwen"))), meta);
  EXPECT_EQ(vocab_from_gguf(meta, "test.gguf").pre, "qwen2");
  io::GgufMetadata other;
  EXPECT_THROW(vocab_to_gguf(load_hf_vocab(model_dir("deepseek", small("deepseek"))), other), FormatError);
}

// Real tokenizers (Qwen3, DeepSeek-V3, gpt-oss, Llama 3): MOE_HF_REAL_DIR/<name>/ holds tokenizer.json,
// tokenizer_config.json and expected.json (reference.mjs's ids for MOE_HF_REAL_DIR/texts.json).
TEST(HfPipeline, RealTokenizersMatchTokenizersJs) {
  const char* root = std::getenv("MOE_HF_REAL_DIR");
  if (root == nullptr) GTEST_SKIP() << "MOE_HF_REAL_DIR is not set (tests/tokenizer/hf/real_test.sh sets it)";
  const std::vector<std::string> all = texts(std::string(root) + "/texts.json");
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const std::string dir = entry.path().string();
    const Tokenizer tok(load_hf_vocab(dir));
    const json expected = io::read_json_file(dir + "/expected.json");
    ASSERT_EQ(expected.at("plain").size(), all.size()) << dir;
    // tokenizers.js adds what the post_processor says; HF's Python LlamaTokenizerFast also obeys
    // add_bos_token (DeepSeek-V3's true), which tokenizers.js is not given.
    const bool bos_from_config = io::read_json_file(dir + "/tokenizer_config.json").value("add_bos_token", false);
    for (size_t idx = 0; idx < all.size(); ++idx) {
      EXPECT_EQ(tok.encode(all[idx], false), expected["plain"][idx].get<std::vector<int32_t>>())
          << dir << ": " << all[idx];
      if (bos_from_config) continue;
      EXPECT_EQ(tok.encode(all[idx], tok.vocab().add_bos), expected["with_special"][idx].get<std::vector<int32_t>>())
          << dir << " (special tokens added): " << all[idx];
    }
    ++checked;
  }
  EXPECT_GT(checked, 0) << root;
}

}  // namespace
}  // namespace moe::tokenizer
