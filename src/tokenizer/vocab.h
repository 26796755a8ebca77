// Vocab: everything that defines a tokenizer, as plain data (the GGUF tokenizer.ggml.* keys).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moe::tokenizer {

// GGUF / SentencePiece token types.
inline constexpr int32_t kTokenNormal = 1;
inline constexpr int32_t kTokenUnknown = 2;
inline constexpr int32_t kTokenControl = 3;
inline constexpr int32_t kTokenUserDefined = 4;
inline constexpr int32_t kTokenUnused = 5;
inline constexpr int32_t kTokenByte = 6;

struct Vocab {
  enum class Kind { kSpm, kBpe };
  Kind kind = Kind::kSpm;
  // SPM: pieces with U+2581 for space and <0xNN> byte tokens; BPE: GPT-2 byte-to-unicode strings.
  std::vector<std::string> tokens;
  std::vector<float> scores;        // SPM merge priority (higher merges first); empty allowed for BPE
  std::vector<int32_t> types;       // one kToken* per token
  std::vector<std::string> merges;  // BPE only: "left right", highest priority first
  int32_t bos_id = 0;
  int32_t eos_id = 0;
  std::optional<int32_t> unk_id;
  std::optional<int32_t> pad_id;
  bool add_bos = false;  // prepend BOS when encoding a prompt
  // BPE pre-tokenizer: "qwen2", or "gpt2" / "olmo" (the GPT-2 regex; llama.cpp names OLMoE's
  // "olmo"), or "hf": tokenizer.json's own normalizer and pre_tokenizer, in hf_pipeline.
  std::string pre;
  // The Jinja chat template (tokenizer_config.json "chat_template" or chat_template.jinja, GGUF
  // tokenizer.chat_template); empty: the model has none.
  std::string chat_template;
  // pre == "hf": {"normalizer": ..., "pre_tokenizer": ...} as JSON text (HfPipeline reads it).
  std::string hf_pipeline;
  bool ignore_merges = false;  // BPE: a piece that is a token as a whole is not merged (o200k, Llama 3)
};

// Throws FormatError (prefixed by `where`, a file or "vocab") unless sizes match, ids are in
// range and `pre` is known.
void validate_vocab(const Vocab& vocab, const std::string& where);

// The text of SPM's byte token for `byte`: "<0x0A>".
std::string spm_byte_piece(uint8_t byte);

}  // namespace moe::tokenizer
