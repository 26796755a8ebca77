// write_hf_tokenizer: tokenizer.json in the layout HF tokenizers serializes (LlamaTokenizerFast
// for SPM, Qwen2 / GPT-2 byte-level for BPE), tokenizer.model for SPM, tokenizer_config.json.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/output_file.h"
#include "io/json_file.h"
#include "tokenizer/hf_files.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/spm_model_proto.h"
#include "tokenizer/token_index.h"

namespace moe::tokenizer {
namespace {

using nlohmann::json;
const std::string kSpace = "\xE2\x96\x81";

bool is_special(int32_t type) { return type == kTokenUnknown || type == kTokenControl || type == kTokenUserDefined; }

json added_tokens(const Vocab& vocab) {
  json out = json::array();
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    if (!is_special(vocab.types[id])) continue;
    out.push_back({{"id", id},
                   {"content", vocab.tokens[id]},
                   {"single_word", false},
                   {"lstrip", false},
                   {"rstrip", false},
                   {"normalized", false},
                   {"special", vocab.types[id] != kTokenUserDefined}});
  }
  return out;
}

json string_pattern(const std::string& text) { return {{"String", text}}; }

// HF's SentencePieceExtractor: every split of a mergeable piece into two tokens is a merge,
// ordered by the merged piece's score (then ids), so HF's rank order follows SPM's scores.
json spm_merges(const Vocab& vocab, const StringMap& ids) {
  struct Merge {
    float score;
    int32_t merged, left, right;
  };
  std::vector<Merge> merges;
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    const int32_t type = vocab.types[id];
    if (type != kTokenNormal && type != kTokenUserDefined && type != kTokenUnused) continue;
    const std::string& piece = vocab.tokens[id];
    for (size_t cut = 1; cut < piece.size(); ++cut) {
      auto left = ids.find(std::string_view(piece).substr(0, cut));
      auto right = ids.find(std::string_view(piece).substr(cut));
      if (left == ids.end() || right == ids.end()) continue;
      merges.push_back({vocab.scores[id], static_cast<int32_t>(id), left->second, right->second});
    }
  }
  std::sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    return std::tie(a.merged, a.left, a.right) < std::tie(b.merged, b.left, b.right);
  });
  json out = json::array();
  for (const Merge& m : merges) out.push_back(vocab.tokens[m.left] + " " + vocab.tokens[m.right]);
  return out;
}

json spm_tokenizer_json(const Vocab& vocab) {
  StringMap ids;
  json model_vocab = json::object();
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    ids.emplace(vocab.tokens[id], static_cast<int32_t>(id));
    model_vocab[vocab.tokens[id]] = id;
  }
  json post = nullptr;
  if (vocab.add_bos) {
    const std::string& bos = vocab.tokens[vocab.bos_id];
    auto special = [&](int type_id) { return json{{"SpecialToken", {{"id", bos}, {"type_id", type_id}}}}; };
    auto sequence = [](const char* name, int type_id) {
      return json{{"Sequence", {{"id", name}, {"type_id", type_id}}}};
    };
    json bos_entry = {{"id", bos}, {"ids", json::array({vocab.bos_id})}, {"tokens", json::array({bos})}};
    post = {{"type", "TemplateProcessing"},
            {"single", json::array({special(0), sequence("A", 0)})},
            {"pair", json::array({special(0), sequence("A", 0), special(1), sequence("B", 1)})},
            {"special_tokens", {{bos, bos_entry}}}};
  }
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens(vocab)},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", kSpace}},
          {{"type", "Replace"}, {"pattern", string_pattern(" ")}, {"content", kSpace}}}}}},
      {"pre_tokenizer", nullptr},
      {"post_processor", post},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", string_pattern(kSpace)}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", vocab.unk_id ? json(vocab.tokens[*vocab.unk_id]) : json(nullptr)},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", true},
        {"byte_fallback", true},
        {"ignore_merges", false},
        {"vocab", model_vocab},
        {"merges", spm_merges(vocab, ids)}}},
  };
}

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", use_regex}};
}

// Qwen2's layout; GPT-2 / OLMo use ByteLevel's built-in regex. No NFC normalizer (Qwen2 ships
// one): our encoder does not normalize, and the file must say what it does.
json bpe_tokenizer_json(const Vocab& vocab) {
  json model_vocab = json::object();
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    if (!is_special(vocab.types[id])) model_vocab[vocab.tokens[id]] = id;
  }
  json pre = vocab.pre == "qwen2" ? json{{"type", "Sequence"},
                                         {"pretokenizers",
                                          {{{"type", "Split"},
                                            {"pattern", {{"Regex", kQwen2Regex}}},
                                            {"behavior", "Isolated"},
                                            {"invert", false}},
                                           byte_level(false)}}}
                                  : byte_level(true);
  json normalizer = nullptr;
  if (vocab.pre == "hf") {  // tokenizer.json's own pipeline, as read
    const json pipeline = json::parse(vocab.hf_pipeline);
    normalizer = pipeline.at("normalizer");
    pre = pipeline.at("pre_tokenizer");
  }
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens(vocab)},
      {"normalizer", normalizer},
      {"pre_tokenizer", pre},
      {"post_processor", byte_level(false)},
      {"decoder", byte_level(false)},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", vocab.ignore_merges},
        {"vocab", model_vocab},
        {"merges", vocab.merges}}},
  };
}

json tokenizer_config(const Vocab& vocab) {
  const bool spm = vocab.kind == Vocab::Kind::kSpm;
  json config = {
      {"add_bos_token", vocab.add_bos},
      {"add_eos_token", false},
      {"bos_token", vocab.tokens[vocab.bos_id]},
      {"eos_token", vocab.tokens[vocab.eos_id]},
      {"clean_up_tokenization_spaces", false},
      {"model_max_length", 32768},
      {"tokenizer_class", spm                    ? "LlamaTokenizerFast"
                          : vocab.pre == "qwen2" ? "Qwen2TokenizerFast"
                          : vocab.pre == "hf"    ? "PreTrainedTokenizerFast"
                                                 : "GPT2TokenizerFast"},
  };
  if (spm) config["legacy"] = true;  // a dummy prefix after every special token, as llama.cpp
  config["unk_token"] = vocab.unk_id ? json(vocab.tokens[*vocab.unk_id]) : json(nullptr);
  config["pad_token"] = vocab.pad_id ? json(vocab.tokens[*vocab.pad_id]) : json(nullptr);
  if (!vocab.chat_template.empty()) config["chat_template"] = vocab.chat_template;
  return config;
}

}  // namespace

void write_hf_tokenizer(const Vocab& vocab, const std::string& dir) {
  validate_vocab(vocab, dir);
  std::filesystem::create_directories(dir);
  const bool spm = vocab.kind == Vocab::Kind::kSpm;
  if (spm) {
    const std::string proto = encode_spm_model_proto(vocab);
    OutputFile file(dir + "/tokenizer.model");
    file.write(proto.data(), proto.size());
    file.commit();
  }
  io::write_json_file(dir + "/tokenizer.json", spm ? spm_tokenizer_json(vocab) : bpe_tokenizer_json(vocab));
  io::write_json_file(dir + "/tokenizer_config.json", tokenizer_config(vocab));
}

}  // namespace moe::tokenizer
