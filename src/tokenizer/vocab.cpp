// Structural checks on a Vocab, shared by the tokenizer and the file writers.
#include "tokenizer/vocab.h"

#include <cstdio>

#include "core/error.h"

namespace moe::tokenizer {
namespace {

void check_id(int32_t id, size_t n_tokens, const std::string& where, const char* name) {
  MOE_CHECK(id >= 0 && static_cast<size_t>(id) < n_tokens, FormatError, where, ": ", name, " = ", id,
            " is outside the vocabulary of ", n_tokens, " tokens");
}

}  // namespace

void validate_vocab(const Vocab& vocab, const std::string& where) {
  const size_t n_tokens = vocab.tokens.size();
  MOE_CHECK(n_tokens > 0, FormatError, where, ": empty vocabulary");
  MOE_CHECK(vocab.types.size() == n_tokens, FormatError, where, ": ", vocab.types.size(), " token types for ", n_tokens,
            " tokens");
  const bool spm = vocab.kind == Vocab::Kind::kSpm;
  MOE_CHECK(vocab.scores.size() == n_tokens || (!spm && vocab.scores.empty()), FormatError, where, ": ",
            vocab.scores.size(), " scores for ", n_tokens, " tokens");
  MOE_CHECK(spm || vocab.pre == "qwen2" || vocab.pre == "gpt2" || vocab.pre == "olmo" ||
                (vocab.pre == "hf" && !vocab.hf_pipeline.empty()),
            FormatError, where, ": unsupported BPE pre-tokenizer '", vocab.pre,
            "' (want qwen2, gpt2, olmo, or hf with its pipeline)");
  MOE_CHECK(!spm || vocab.merges.empty(), FormatError, where, ": an SPM vocabulary has no merges");
  for (size_t id = 0; id < n_tokens; ++id) {
    MOE_CHECK(vocab.types[id] >= kTokenNormal && vocab.types[id] <= kTokenByte, FormatError, where, ": token ", id,
              " has type ", vocab.types[id], " (want 1..6)");
    MOE_CHECK(!vocab.tokens[id].empty(), FormatError, where, ": token ", id, " is empty");
  }
  check_id(vocab.bos_id, n_tokens, where, "bos_token_id");
  check_id(vocab.eos_id, n_tokens, where, "eos_token_id");
  if (vocab.unk_id) check_id(*vocab.unk_id, n_tokens, where, "unknown_token_id");
  if (vocab.pad_id) check_id(*vocab.pad_id, n_tokens, where, "padding_token_id");
}

std::string spm_byte_piece(uint8_t byte) {
  char text[8];
  std::snprintf(text, sizeof(text), "<0x%02X>", byte);
  return text;
}

}  // namespace moe::tokenizer
