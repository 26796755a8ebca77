// Hugging Face tokenizer files: tokenizer.json, tokenizer.model (SentencePiece) and
// tokenizer_config.json.
#pragma once

#include <string>

#include "tokenizer/vocab.h"

namespace moe::tokenizer {

// dir/tokenizer.json if present (SPM-style BPE with byte_fallback as HF's LlamaTokenizerFast
// writes it, or byte-level BPE with a ByteLevel / Split(regex) pre-tokenizer), else
// dir/tokenizer.model via libsentencepiece. Special ids, add_bos and chat_template (a string, or
// the "default" of a list of named templates) come from dir/tokenizer_config.json when it has
// them; dir/chat_template.jinja, when present, is the template. No tokenizer file -> IoError naming dir; a file we
// cannot use -> FormatError naming it.
Vocab load_hf_vocab(const std::string& dir);

// SPM: tokenizer.model and tokenizer.json; BPE: tokenizer.json; both: tokenizer_config.json (with
// the chat template, if any).
// Each file is written atomically.
void write_hf_tokenizer(const Vocab& vocab, const std::string& dir);

}  // namespace moe::tokenizer
