// Shared between the tokenizer.json reader and the writers: the Qwen2 split regex as HF writes
// it, and the llama.cpp name of a pre_tokenizer.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace moe::tokenizer {

inline constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// "qwen2" for a Sequence of Qwen2's Split regex and ByteLevel without its regex, "gpt2" for a
// lone ByteLevel with its regex; empty for any other pre_tokenizer.
std::string hf_pre_name(const nlohmann::json& pre_tokenizer);

}  // namespace moe::tokenizer
