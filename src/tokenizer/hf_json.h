// Shared between the tokenizer.json reader and writer: the Qwen2 split regex as HF writes it.
#pragma once

namespace moe::tokenizer {

inline constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

}  // namespace moe::tokenizer
