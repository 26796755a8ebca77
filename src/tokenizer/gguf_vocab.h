// Vocab <-> GGUF metadata, under llama.cpp's tokenizer.ggml.* keys and value types.
#pragma once

#include <string>

#include "io/gguf_metadata.h"
#include "tokenizer/vocab.h"

namespace moe::tokenizer {

// tokenizer.ggml.model "llama" = SPM, "gpt2" = BPE; missing or mis-typed keys, or sizes that do
// not match, -> FormatError naming path and key.
Vocab vocab_from_gguf(const io::GgufMetadata& meta, const std::string& path);

// Writes what convert_hf_to_gguf.py writes: model, pre, tokens, scores (float32; SPM), token_type
// (int32), merges (BPE), bos/eos/unknown/padding ids (uint32), add_bos_token (bool), and
// tokenizer.chat_template when the vocab has one (read back the same way).
void vocab_to_gguf(const Vocab& vocab, io::GgufMetadata& meta);

}  // namespace moe::tokenizer
