// Token files (write, map, refuse truncated or foreign files) and the sample stream (split
// boundaries, one permutation per epoch, the same samples for the same seed).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "tokenizer/make_vocab.h"
#include "train/sample_stream.h"
#include "train/token_data.h"

namespace moe::train {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  const fs::path dir = fs::path(MOE_TEST_TMP) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string write_text(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

tokenizer::Tokenizer spm_tokenizer(int64_t size) {
  return tokenizer::Tokenizer(tokenizer::make_vocab(tokenizer::Vocab::Kind::kSpm, size));
}

TEST(TokenData, WritesDocumentsWithBosAndEosAndMapsThemBack) {
  const std::string dir = temp_dir("token_data_round_trip");
  const tokenizer::Tokenizer tok = spm_tokenizer(512);
  const std::string a = write_text(dir, "a.txt", "In the beginning was the word.");
  const std::string b = write_text(dir, "b.txt", "And the word was good.\n");
  const TokenDataSummary summary = write_token_data(tok, {a, b}, dir + "/data");
  ASSERT_EQ(summary.documents.size(), 2u);
  EXPECT_EQ(summary.bytes_per_token, 2);

  const TokenData data = TokenData::open(dir + "/data");
  ASSERT_EQ(data.size(), summary.tokens);
  std::vector<int32_t> expect = tok.encode("In the beginning was the word.", tok.vocab().add_bos);
  expect.push_back(tok.eos_id());
  std::vector<int32_t> got(expect.size());
  data.read(0, static_cast<int64_t>(got.size()), got.data());
  EXPECT_EQ(got, expect);
  EXPECT_EQ(data.documents()[1].start, static_cast<int64_t>(expect.size()));
  EXPECT_NO_THROW(data.check_tokenizer(tok.vocab()));
}

TEST(TokenData, RefusesTruncatedFilesAndAnotherTokenizer) {
  const std::string dir = temp_dir("token_data_bad");
  const tokenizer::Tokenizer tok = spm_tokenizer(512);
  write_token_data(tok, {write_text(dir, "a.txt", "Some text to tokenize, long enough.")}, dir + "/data");
  const TokenData data = TokenData::open(dir + "/data");
  try {
    data.check_tokenizer(spm_tokenizer(600).vocab());
    FAIL() << "another tokenizer was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("made with another tokenizer"), std::string::npos) << e.what();
  }
  fs::resize_file(dir + "/data.bin", fs::file_size(dir + "/data.bin") - 2);
  try {
    TokenData::open(dir + "/data");
    FAIL() << "a truncated file was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("data.bin"), std::string::npos) << e.what();
  }
  EXPECT_THROW(TokenData::open(dir + "/missing"), IoError);
}

TEST(TokenData, IndexCountsAreIntegersInsideTheFile) {
  const std::string dir = temp_dir("token_data_index");
  const tokenizer::Tokenizer tok = spm_tokenizer(512);
  write_token_data(tok, {write_text(dir, "a.txt", "Some text to tokenize, long enough.")}, dir + "/data");
  std::ifstream in(dir + "/data.idx");
  const nlohmann::json good = nlohmann::json::parse(in);
  const int64_t n = good["tokens"];
  // Each was accepted before: 1e308 converted with UB, negative counts, spans past the end.
  const std::pair<const char*, nlohmann::json> cases[] = {{"/tokens", 1e308},        {"/tokens", -2},
                                                          {"/tokens", 2.5},          {"/vocab_size", 0},
                                                          {"/documents/0/start", n}, {"/documents/0/tokens", n + 1},
                                                          {"/documents/0/start", -1}};
  for (const auto& [pointer, value] : cases) {
    nlohmann::json bad = good;
    bad[nlohmann::json::json_pointer(pointer)] = value;
    std::ofstream(dir + "/data.idx") << bad.dump();
    try {
      TokenData::open(dir + "/data");
      ADD_FAILURE() << pointer << " = " << value << " was accepted";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("expected an integer in ["), std::string::npos) << e.what();
    }
  }
}

TEST(SampleStream, SplitsAndShufflesEachEpochDeterministically) {
  const std::string dir = temp_dir("sample_stream");
  const tokenizer::Tokenizer tok = spm_tokenizer(512);
  std::string text;  // random words: no two samples have the same tokens
  uint64_t state = 12345;
  for (int i = 0; i < 1500; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    text += static_cast<char>('a' + (state >> 59) % 26);
    text += (state >> 40) % 4 == 0 ? " " : "";
  }
  write_token_data(tok, {write_text(dir, "a.txt", text)}, dir + "/data");
  const TokenData data = TokenData::open(dir + "/data");
  const int64_t seq = 16;
  const int64_t total = (data.size() - 1) / seq;
  const DataSplit split = parse_split("8,1,1");
  SampleStream train(data, seq, split, SplitPart::kTrain, 7);
  SampleStream valid(data, seq, split, SplitPart::kValid, 7);
  EXPECT_EQ(train.samples_per_epoch(), std::llround(0.8 * total));
  EXPECT_EQ(valid.samples_per_epoch(), std::llround(0.9 * total) - std::llround(0.8 * total));

  // Each epoch visits every train sample once; consecutive samples overlap by one token.
  const int64_t n = train.samples_per_epoch();
  std::vector<int32_t> buf(seq + 1);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::set<std::vector<int32_t>> seen;
    for (int64_t j = epoch * n; j < (epoch + 1) * n; ++j) {
      train.sample(j, buf.data());
      seen.insert(buf);
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), n);
  }
  std::vector<int32_t> first(seq + 1), again(seq + 1), other(seq + 1);
  train.sample(3, first.data());
  SampleStream same(data, seq, split, SplitPart::kTrain, 7);
  same.sample(3, again.data());
  EXPECT_EQ(first, again);
  // Validation samples come in file order, right after the train part.
  valid.sample(0, buf.data());
  std::vector<int32_t> direct(seq + 1);
  data.read(std::llround(0.8 * total) * seq, seq + 1, direct.data());
  EXPECT_EQ(buf, direct);

  EXPECT_THROW(parse_split("1,x"), ConfigError);
  EXPECT_THROW(parse_split("0,1"), ConfigError);
  EXPECT_THROW(SampleStream(data, data.size(), split, SplitPart::kTrain, 7), ConfigError);
}

}  // namespace
}  // namespace moe::train
