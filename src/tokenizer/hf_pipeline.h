// HfPipeline: the normalizer and pre-tokenizer of an HF tokenizer.json, read generally (Sequence,
// NFC/NFD/NFKC/NFKD, Lowercase, Replace, Prepend; Split with any regex, ByteLevel, Digits), run
// before byte-level BPE merges each piece.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace moe::tokenizer {

class HfPipeline {
 public:
  // `spec` holds "normalizer" and "pre_tokenizer" as tokenizer.json has them. A component we do
  // not read -> FormatError naming `where` and its JSON path ("pre_tokenizer.pretokenizers[1].type
  // 'Foo' is not supported").
  HfPipeline(const nlohmann::json& spec, const std::string& where);

  std::string normalize(std::string_view text) const;
  // The pieces BPE encodes one by one (their bytes; the ByteLevel step's byte-to-char mapping is
  // the encoder's).
  std::vector<std::string> pre_tokenize(std::string text) const;

 private:
  using Normalizer = std::function<std::string(std::string)>;
  using PreStep = std::function<std::vector<std::string>(const std::string&)>;
  void add_normalizer(const nlohmann::json& node, const std::string& path);
  void add_pre_step(const nlohmann::json& node, const std::string& path);

  std::string where_;
  std::vector<Normalizer> normalizers_;
  std::vector<PreStep> pre_steps_;
  bool byte_level_ = false;
};

}  // namespace moe::tokenizer
