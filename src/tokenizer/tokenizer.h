// Tokenizer: text <-> token ids for SentencePiece-style (Mixtral) and byte-level BPE (Qwen2-MoE,
// OLMoE, and tokenizer.json pipelines such as DeepSeek-V3's and gpt-oss's) vocabularies.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/token_index.h"
#include "tokenizer/vocab.h"

namespace moe::tokenizer {

class Tokenizer {
 public:
  explicit Tokenizer(Vocab vocab);  // validates (ids in range, sizes match, merges) -> FormatError

  // Control, unknown and user-defined tokens written in the text are matched verbatim (longest
  // first), as llama.cpp with parse_special and HF tokenizers do; the text between them is
  // tokenized (SPM: each run gets the dummy-prefix space).
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const;
  // Concatenated token_bytes; SPM drops the one leading space of the dummy prefix.
  std::string decode(std::span<const int32_t> ids) const;  // bad id -> FormatError
  // Raw bytes of one token for streaming (SPM: U+2581 -> space, <0xNN> -> the byte); control,
  // unknown and unused tokens are empty, user-defined ones their text.
  const std::string& token_bytes(int32_t id) const;

  const Vocab& vocab() const { return vocab_; }
  int32_t n_vocab() const { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const { return vocab_.bos_id; }
  int32_t eos_id() const { return vocab_.eos_id; }

 private:
  void encode_plain(std::string_view text, std::vector<int32_t>& out) const;
  size_t match_special(std::string_view text, size_t pos, int32_t& id) const;

  Vocab vocab_;
  TokenIndex index_;
  std::vector<std::string> bytes_;  // token_bytes of every id
  std::vector<int32_t> specials_;   // ids matched verbatim, longest text first
  std::array<bool, 256> special_first_byte_{};
};

}  // namespace moe::tokenizer
