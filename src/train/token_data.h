// Token files for training (`moe data` writes them, `moe train` memory-maps them): PREFIX.bin holds
// the token ids of every document back to back (little-endian uint16 when the vocabulary fits, else
// uint32); PREFIX.idx is a small JSON index (dtype, token count, documents, and a fingerprint of the
// tokenizer, so a file made with another vocabulary is refused). Format: docs/FORMATS.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace moe {
class MappedFile;
}

namespace moe::train {

// FNV-1a over the vocabulary's token texts and special ids: equal for the same tokenizer.
std::string vocab_fingerprint(const tokenizer::Vocab& vocab);

struct DocumentSpan {
  std::string name;   // the input file
  int64_t start = 0;  // first token
  int64_t tokens = 0;
};

// Tokenizes each input file as one document (BOS first when the vocabulary adds one, EOS appended) and writes
// PREFIX.bin and PREFIX.idx atomically. `progress` (may be empty) is called after each document.
struct TokenDataSummary {
  int64_t tokens = 0;
  int bytes_per_token = 0;
  std::vector<DocumentSpan> documents;
};
TokenDataSummary write_token_data(const tokenizer::Tokenizer& tokenizer, const std::vector<std::string>& inputs,
                                  const std::string& prefix);

// A memory-mapped token file. open() validates the index against the .bin (size, ids < vocab).
class TokenData {
 public:
  static TokenData open(const std::string& prefix);

  int64_t size() const { return n_tokens_; }
  int32_t at(int64_t i) const;
  // Copies tokens [start, start + n) into out.
  void read(int64_t start, int64_t n, int32_t* out) const;
  int64_t vocab_size() const { return vocab_size_; }
  const std::string& prefix() const { return prefix_; }
  const std::vector<DocumentSpan>& documents() const { return documents_; }
  // Throws ConfigError unless the file was made with this vocabulary.
  void check_tokenizer(const tokenizer::Vocab& vocab) const;

 private:
  std::string prefix_;
  std::shared_ptr<MappedFile> bin_;
  int bytes_per_token_ = 0;
  int64_t n_tokens_ = 0;
  int64_t vocab_size_ = 0;
  std::string fingerprint_;
  std::vector<DocumentSpan> documents_;
};

}  // namespace moe::train
