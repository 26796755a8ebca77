// Splits text into the words that byte-level BPE merges inside, as the Qwen2 and GPT-2
// pre-tokenizer regexes do, hand-written over code points (no regex engine).
#pragma once

#include <string_view>
#include <vector>

namespace moe::tokenizer {

enum class PreTokenizer {
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  // \s*[\r\n]+|\s+(?!\S)|\s+
  kQwen2,
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
};

// The successive matches of the regex over text; together they cover text exactly.
std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizer kind);

}  // namespace moe::tokenizer
