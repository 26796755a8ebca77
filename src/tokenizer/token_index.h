// TokenIndex: the lookup tables the SPM and BPE encoders share, built once from a Vocab.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/hf_pipeline.h"
#include "tokenizer/vocab.h"

namespace moe::tokenizer {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct TokenIndex {
  StringMap ids;                               // token text -> id; the lowest id wins when a text repeats
  StringMap merge_ranks;                       // BPE: "left right" -> rank
  std::array<int32_t, 256> byte_ids{};         // SPM: id of <0xNN> (-1 if absent); BPE: id of the byte's char
  std::shared_ptr<const HfPipeline> pipeline;  // BPE with pre == "hf"

  int32_t find(std::string_view text) const {
    auto it = ids.find(text);
    return it == ids.end() ? -1 : it->second;
  }
};

// Encodes one run of plain text (special tokens already split off), appending to out.
void spm_encode(std::string_view text, const Vocab& vocab, const TokenIndex& index, std::vector<int32_t>& out);
void bpe_encode(std::string_view text, const Vocab& vocab, const TokenIndex& index, std::vector<int32_t>& out);

}  // namespace moe::tokenizer
