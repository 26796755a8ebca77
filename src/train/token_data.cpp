// Writing and memory-mapping token files (PREFIX.bin + PREFIX.idx).
#include "train/token_data.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/output_file.h"
#include "core/printable.h"
#include "io/json_file.h"

namespace moe::train {
namespace {

constexpr const char* kFormat = "moe-tokens";
constexpr int kVersion = 1;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MOE_CHECK(in.good(), IoError, path, ": cannot open");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void append_ids(OutputFile& out, const std::vector<int32_t>& ids, int width) {
  if (width == 4) {
    out.write(ids.data(), ids.size() * 4);
    return;
  }
  std::vector<uint16_t> narrow(ids.begin(), ids.end());
  out.write(narrow.data(), narrow.size() * 2);
}

// object[key]: an integer in [min, max] (documents' spans must lie inside the token file), else
// FormatError naming the file and key.
int64_t count(const nlohmann::json& object, const char* key, int64_t min, int64_t max, const std::string& path) {
  const nlohmann::json& value = object.at(key);
  const bool integer = value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
  MOE_CHECK(integer && value.get<uint64_t>() >= static_cast<uint64_t>(min) &&
                value.get<uint64_t>() <= static_cast<uint64_t>(max),
            FormatError, path, ": '", key, "' is ", value.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace),
            ", expected an integer in [", min, ", ", max, "]");
  return value.get<int64_t>();
}

}  // namespace

std::string vocab_fingerprint(const tokenizer::Vocab& vocab) {
  uint64_t hash = 0xcbf29ce484222325ull;
  auto mix = [&](const void* data, size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  };
  for (const std::string& token : vocab.tokens) {
    mix(token.data(), token.size());
    mix("\0", 1);
  }
  mix(&vocab.bos_id, sizeof vocab.bos_id);
  mix(&vocab.eos_id, sizeof vocab.eos_id);
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

TokenDataSummary write_token_data(const tokenizer::Tokenizer& tokenizer, const std::vector<std::string>& inputs,
                                  const std::string& prefix) {
  MOE_CHECK(!inputs.empty(), UsageError, "--in: no input file");
  TokenDataSummary summary;
  summary.bytes_per_token = tokenizer.n_vocab() <= 65536 ? 2 : 4;
  OutputFile bin(prefix + ".bin");
  for (const std::string& path : inputs) {
    std::vector<int32_t> ids = tokenizer.encode(read_text(path), tokenizer.vocab().add_bos);
    MOE_CHECK(ids.size() > 1, UsageError, path, ": no text to tokenize");
    if (tokenizer.eos_id() >= 0) ids.push_back(tokenizer.eos_id());
    append_ids(bin, ids, summary.bytes_per_token);
    summary.documents.push_back({path, summary.tokens, static_cast<int64_t>(ids.size())});
    summary.tokens += static_cast<int64_t>(ids.size());
  }
  nlohmann::json documents = nlohmann::json::array();
  for (const DocumentSpan& doc : summary.documents)
    documents.push_back({{"name", doc.name}, {"start", doc.start}, {"tokens", doc.tokens}});
  const nlohmann::json index = {{"format", kFormat},
                                {"version", kVersion},
                                {"dtype", summary.bytes_per_token == 2 ? "uint16" : "uint32"},
                                {"tokens", summary.tokens},
                                {"vocab_size", tokenizer.n_vocab()},
                                {"tokenizer_fingerprint", vocab_fingerprint(tokenizer.vocab())},
                                {"documents", documents}};
  // The index goes last: a .bin without its index is never taken for a finished file.
  bin.commit();
  io::write_json_file(prefix + ".idx", index);
  return summary;
}

TokenData TokenData::open(const std::string& prefix) {
  const std::string idx_path = prefix + ".idx";
  const nlohmann::json index = io::read_json_file(idx_path);
  TokenData data;
  data.prefix_ = prefix;
  try {
    MOE_CHECK(index.at("format") == kFormat, FormatError, idx_path, ": not a moe token index");
    MOE_CHECK(index.at("version") == kVersion, FormatError, idx_path, ": unsupported version ",
              index.at("version").dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
    const std::string dtype = index.at("dtype");
    MOE_CHECK(dtype == "uint16" || dtype == "uint32", FormatError, idx_path, ": dtype '", printable(dtype),
              "' (expected uint16 or uint32)");
    data.bytes_per_token_ = dtype == "uint16" ? 2 : 4;
    data.n_tokens_ = count(index, "tokens", 0, std::numeric_limits<int64_t>::max(), idx_path);
    data.vocab_size_ = count(index, "vocab_size", 1, std::numeric_limits<int32_t>::max(), idx_path);
    data.fingerprint_ = index.at("tokenizer_fingerprint");
    for (const auto& doc : index.at("documents")) {
      const int64_t start = count(doc, "start", 0, data.n_tokens_, idx_path);
      const int64_t tokens = count(doc, "tokens", 0, data.n_tokens_ - start, idx_path);
      data.documents_.push_back({doc.at("name"), start, tokens});
    }
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(detail::concat(idx_path, ": ", e.what()));
  }
  data.bin_ = MappedFile::open(prefix + ".bin");
  MOE_CHECK(
      data.bin_->size() % data.bytes_per_token_ == 0 && data.bin_->size() / data.bytes_per_token_ == data.n_tokens_,
      FormatError, prefix, ".bin: ", data.bin_->size(), " bytes, the index says ", data.n_tokens_, " tokens of ",
      data.bytes_per_token_, " bytes (truncated or another file?)");
  for (int64_t i = 0; i < data.n_tokens_; ++i) {
    const int32_t id = data.at(i);
    MOE_CHECK(id >= 0 && id < data.vocab_size_, FormatError, prefix, ".bin: token ", i, " is ", id,
              ", outside the vocabulary of ", data.vocab_size_);
  }
  return data;
}

int32_t TokenData::at(int64_t i) const {
  const std::byte* p = bin_->data() + i * bytes_per_token_;
  if (bytes_per_token_ == 2) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void TokenData::read(int64_t start, int64_t n, int32_t* out) const {
  MOE_ASSERT(start >= 0 && start + n <= n_tokens_);
  for (int64_t i = 0; i < n; ++i) out[i] = at(start + i);
}

void TokenData::check_tokenizer(const tokenizer::Vocab& vocab) const {
  MOE_CHECK(vocab_fingerprint(vocab) == fingerprint_ && static_cast<int64_t>(vocab.tokens.size()) == vocab_size_,
            ConfigError, prefix_, ".idx: made with another tokenizer (vocabulary of ", vocab_size_,
            " tokens, fingerprint ", fingerprint_, "; the model has ", vocab.tokens.size(), " tokens, fingerprint ",
            vocab_fingerprint(vocab), ")");
}

}  // namespace moe::train
