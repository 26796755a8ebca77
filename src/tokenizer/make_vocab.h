// make_vocab: the deterministic vocabulary `moe init` gives a random-weight checkpoint, with BPE
// merges trained on a built-in English text.
#pragma once

#include <cstdint>
#include <string_view>

#include "tokenizer/vocab.h"

namespace moe::tokenizer {

// Exactly n_tokens tokens (>= 512, else ConfigError), the same every call.
// SPM: <unk>=0, <s>=1, </s>=2, <0x00>..<0xFF>, merged pieces (score -rank), the text's characters,
//      then "[PADn]" fillers; add_bos.
// BPE: the 256 byte characters in GPT-2 order, merged tokens, "[PADn]" fillers, then
//      <|endoftext|> (bos = eos), <|im_start|>, <|im_end|> as the last three ids; pre "qwen2".
Vocab make_vocab(Vocab::Kind kind, int32_t n_tokens);

// The training text.
std::string_view english_text();

}  // namespace moe::tokenizer
