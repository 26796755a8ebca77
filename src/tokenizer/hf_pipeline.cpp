// Each tokenizer.json component becomes a function: normalizers map the text, pre-tokenizer steps
// map one piece to the pieces it splits into (HF's PreTokenizedString, without offsets).
#include "tokenizer/hf_pipeline.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <cstdio>
#include <memory>

#include "core/error.h"
#include "tokenizer/hf_regex.h"
#include "tokenizer/unicode.h"

namespace moe::tokenizer {
namespace {

using nlohmann::json;

// ByteLevel's own regex (GPT-2's), used when its use_regex is true.
constexpr const char* kByteLevelRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string to_utf8(const icu::UnicodeString& text) {
  std::string out;
  text.toUTF8String(out);
  return out;
}

// A Split pattern: {"Regex": "..."} or {"String": "..."} (a literal: each code point as \x{...}).
std::shared_ptr<HfRegex> split_pattern(const json& pattern, const std::string& path) {
  if (pattern.contains("Regex")) return std::make_shared<HfRegex>(pattern["Regex"].get<std::string>(), path);
  MOE_CHECK(pattern.contains("String"), FormatError, path, " is neither {\"Regex\": ...} nor {\"String\": ...}");
  const std::string literal = pattern["String"].get<std::string>();
  std::string regex;
  for (size_t pos = 0, len = 0; pos < literal.size(); pos += len) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "\\x{%X}", utf8_decode(literal, pos, len));
    regex += hex;
  }
  return std::make_shared<HfRegex>(regex, path);
}

// HF's SplitDelimiterBehavior over the matches of `regex` in `piece` (invert: the gaps are the
// delimiters instead).
std::vector<std::string> split(const std::string& piece, const HfRegex& regex, const std::string& behavior,
                               bool invert) {
  struct Segment {
    std::string text;
    bool delimiter;
  };
  std::vector<Segment> segments;
  size_t last = 0;
  for (const auto& [begin, end] : regex.find_all(piece)) {
    if (begin > last) segments.push_back({piece.substr(last, begin - last), invert});
    segments.push_back({piece.substr(begin, end - begin), !invert});
    last = end;
  }
  if (last < piece.size()) segments.push_back({piece.substr(last), invert});
  std::vector<std::string> out;
  bool glue_next = false;  // MergedWithNext: the last delimiter waits for the next segment
  for (size_t idx = 0; idx < segments.size(); ++idx) {
    const Segment& s = segments[idx];
    if (behavior == "Isolated") {
      out.push_back(s.text);
    } else if (behavior == "Removed") {
      if (!s.delimiter) out.push_back(s.text);
    } else if (behavior == "MergedWithPrevious") {
      if (s.delimiter && idx > 0 && !segments[idx - 1].delimiter) {
        out.back() += s.text;
      } else {
        out.push_back(s.text);
      }
    } else if (behavior == "MergedWithNext") {
      if (glue_next) {
        out.back() += s.text;
      } else {
        out.push_back(s.text);
      }
      glue_next = s.delimiter;
    } else {  // Contiguous: adjacent delimiters form one piece
      if (s.delimiter && idx > 0 && segments[idx - 1].delimiter) {
        out.back() += s.text;
      } else {
        out.push_back(s.text);
      }
    }
  }
  return out;
}

std::string type_of(const json& node, const std::string& path) {
  MOE_CHECK(node.is_object() && node.contains("type"), FormatError, path, " has no \"type\"");
  return node["type"].get<std::string>();
}

}  // namespace

HfPipeline::HfPipeline(const json& spec, const std::string& where) : where_(where) {
  const json normalizer = spec.value("normalizer", json());
  if (!normalizer.is_null()) add_normalizer(normalizer, "normalizer");
  const json pre = spec.value("pre_tokenizer", json());
  if (!pre.is_null()) add_pre_step(pre, "pre_tokenizer");
  MOE_CHECK(byte_level_, FormatError, where,
            ": pre_tokenizer has no ByteLevel step (only byte-level BPE is read "
            "this way; SentencePiece-style files take the Metaspace/byte_fallback path)");
}

void HfPipeline::add_normalizer(const json& node, const std::string& path) {
  const std::string type = type_of(node, path);
  if (type == "Sequence") {
    const json& list = node.at("normalizers");
    for (size_t idx = 0; idx < list.size(); ++idx) {
      add_normalizer(list[idx], path + ".normalizers[" + std::to_string(idx) + "]");
    }
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* form = type == "NFC"    ? icu::Normalizer2::getNFCInstance(status)
                                   : type == "NFD"  ? icu::Normalizer2::getNFDInstance(status)
                                   : type == "NFKC" ? icu::Normalizer2::getNFKCInstance(status)
                                                    : icu::Normalizer2::getNFKDInstance(status);
    MOE_CHECK(U_SUCCESS(status), FormatError, where_, ": ", path, ": ICU has no ", type, " data");
    normalizers_.push_back([form](std::string text) {
      UErrorCode error = U_ZERO_ERROR;
      const icu::UnicodeString out = form->normalize(icu::UnicodeString::fromUTF8(text), error);
      return U_SUCCESS(error) ? to_utf8(out) : text;
    });
  } else if (type == "Lowercase") {
    normalizers_.push_back([](std::string text) {
      icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
      return to_utf8(u.toLower(icu::Locale::getRoot()));
    });
  } else if (type == "Replace") {
    auto regex = split_pattern(node.at("pattern"), where_ + ": " + path + ".pattern");
    const std::string content = node.at("content").get<std::string>();
    normalizers_.push_back([regex, content](std::string text) {
      std::string out;
      size_t last = 0;
      for (const auto& [begin, end] : regex->find_all(text)) {
        out.append(text, last, begin - last);
        out += content;
        last = end;
      }
      out.append(text, last);
      return out;
    });
  } else if (type == "Prepend") {
    const std::string prepend = node.at("prepend").get<std::string>();
    normalizers_.push_back([prepend](std::string text) { return text.empty() ? text : prepend + text; });
  } else {
    throw FormatError(detail::concat(where_, ": ", path, ".type '", type, "' is not supported"));
  }
}

void HfPipeline::add_pre_step(const json& node, const std::string& path) {
  const std::string type = type_of(node, path);
  if (type == "Sequence") {
    const json& list = node.at("pretokenizers");
    for (size_t idx = 0; idx < list.size(); ++idx) {
      add_pre_step(list[idx], path + ".pretokenizers[" + std::to_string(idx) + "]");
    }
  } else if (type == "Split") {
    auto regex = split_pattern(node.at("pattern"), where_ + ": " + path + ".pattern");
    const std::string behavior = node.value("behavior", "Isolated");
    MOE_CHECK(behavior == "Isolated" || behavior == "Removed" || behavior == "MergedWithPrevious" ||
                  behavior == "MergedWithNext" || behavior == "Contiguous",
              FormatError, where_, ": ", path, ".behavior '", behavior, "' is not supported");
    const bool invert = node.value("invert", false);
    pre_steps_.push_back(
        [regex, behavior, invert](const std::string& piece) { return split(piece, *regex, behavior, invert); });
  } else if (type == "Digits") {
    auto regex =
        std::make_shared<HfRegex>(node.value("individual_digits", false) ? "\\p{N}" : "\\p{N}+", where_ + ": " + path);
    pre_steps_.push_back([regex](const std::string& piece) { return split(piece, *regex, "Isolated", false); });
  } else if (type == "ByteLevel") {
    byte_level_ = true;
    const bool prefix = node.value("add_prefix_space", false);
    std::shared_ptr<HfRegex> regex;
    if (node.value("use_regex", true)) regex = std::make_shared<HfRegex>(kByteLevelRegex, where_ + ": " + path);
    pre_steps_.push_back([prefix, regex](const std::string& piece) {
      const std::string text = prefix && piece.compare(0, 1, " ") != 0 ? " " + piece : piece;
      return regex ? split(text, *regex, "Isolated", false) : std::vector<std::string>{text};
    });
  } else {
    throw FormatError(detail::concat(where_, ": ", path, ".type '", type, "' is not supported"));
  }
}

std::string HfPipeline::normalize(std::string_view text) const {
  std::string out(text);
  for (const Normalizer& step : normalizers_) out = step(std::move(out));
  return out;
}

std::vector<std::string> HfPipeline::pre_tokenize(std::string text) const {
  std::vector<std::string> pieces;
  if (!text.empty()) pieces.push_back(std::move(text));
  for (const PreStep& step : pre_steps_) {
    std::vector<std::string> next;
    for (const std::string& piece : pieces) {
      for (std::string& part : step(piece)) {
        if (!part.empty()) next.push_back(std::move(part));
      }
    }
    pieces = std::move(next);
  }
  return pieces;
}

}  // namespace moe::tokenizer
