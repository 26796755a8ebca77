// Tokenizer: builds the lookup tables, splits special tokens off, dispatches to the SPM or BPE
// encoder, and decodes.
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace moe::tokenizer {
namespace {

const std::string kSpace = "\xE2\x96\x81";

// "<0x0A>" -> 0x0A; false for anything else.
bool parse_byte_piece(std::string_view text, uint8_t& byte) {
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return false;
  const int high = hex(text[3]);
  const int low = hex(text[4]);
  if (high < 0 || low < 0) return false;
  byte = static_cast<uint8_t>(high * 16 + low);
  return true;
}

std::string spm_piece_bytes(const std::string& piece) {
  std::string out;
  for (size_t pos = 0; pos < piece.size();) {
    if (piece.compare(pos, kSpace.size(), kSpace) == 0) {
      out += ' ';
      pos += kSpace.size();
    } else {
      out += piece[pos++];
    }
  }
  return out;
}

// GPT-2 code points back to bytes; a code point outside the mapping is kept as UTF-8.
std::string bpe_token_bytes(const std::string& token) {
  std::string out;
  for (size_t pos = 0; pos < token.size();) {
    size_t len = 0;
    const uint32_t cpt = utf8_decode(token, pos, len);
    uint8_t byte = 0;
    if (unicode_to_byte(cpt, byte)) {
      out += static_cast<char>(byte);
    } else {
      out.append(token, pos, len);
    }
    pos += len;
  }
  return out;
}

}  // namespace

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
  validate_vocab(vocab_, "vocab");
  const bool spm = vocab_.kind == Vocab::Kind::kSpm;
  const auto n_tokens = static_cast<int32_t>(vocab_.tokens.size());
  index_.byte_ids.fill(-1);
  bytes_.resize(n_tokens);
  for (int32_t id = 0; id < n_tokens; ++id) {
    const std::string& text = vocab_.tokens[id];
    const int32_t type = vocab_.types[id];
    index_.ids.emplace(text, id);
    uint8_t byte = 0;
    if (type == kTokenUnknown || type == kTokenControl || type == kTokenUserDefined) specials_.push_back(id);
    if (type == kTokenUserDefined) {
      bytes_[id] = text;
    } else if (spm && type == kTokenByte) {
      MOE_CHECK(parse_byte_piece(text, byte), FormatError, "vocab: byte token ", id, " is '", text, "', not <0xNN>");
      bytes_[id] = std::string(1, static_cast<char>(byte));
      if (index_.byte_ids[byte] < 0) index_.byte_ids[byte] = id;
    } else if (type == kTokenNormal || type == kTokenByte) {
      bytes_[id] = spm ? spm_piece_bytes(text) : bpe_token_bytes(text);
    }
  }
  if (spm) {
    const bool all_bytes =
        std::none_of(index_.byte_ids.begin(), index_.byte_ids.end(), [](int32_t id) { return id < 0; });
    MOE_CHECK(all_bytes || vocab_.unk_id, FormatError,
              "vocab: an SPM vocabulary needs the 256 <0xNN> byte tokens or an unknown token");
  } else {
    for (int byte = 0; byte < 256; ++byte) {
      const std::string& text = byte_to_unicode(static_cast<uint8_t>(byte));
      index_.byte_ids[byte] = index_.find(text);
      MOE_CHECK(index_.byte_ids[byte] >= 0, FormatError, "vocab: byte 0x", std::hex, byte, " (token '", text,
                "') is missing from the BPE vocabulary");
    }
    for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
      const std::string& merge = vocab_.merges[rank];
      const size_t space = merge.find(' ');
      const bool split = space != std::string::npos && space > 0 && space + 1 < merge.size() &&
                         merge.find(' ', space + 1) == std::string::npos;
      MOE_CHECK(split, FormatError, "vocab: merge ", rank, " '", merge, "' is not 'left right'");
      const std::string left = merge.substr(0, space);
      const std::string right = merge.substr(space + 1);
      MOE_CHECK(index_.find(left) >= 0 && index_.find(right) >= 0 && index_.find(left + right) >= 0, FormatError,
                "vocab: merge ", rank, " '", merge, "' names a token not in the vocabulary");
      index_.merge_ranks.emplace(merge, static_cast<int32_t>(rank));
    }
  }
  if (vocab_.pre == "hf") {
    index_.pipeline = std::make_shared<HfPipeline>(nlohmann::json::parse(vocab_.hf_pipeline), "vocab");
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [&](int32_t a, int32_t b) { return vocab_.tokens[a].size() > vocab_.tokens[b].size(); });
  for (int32_t id : specials_) special_first_byte_[static_cast<uint8_t>(vocab_.tokens[id][0])] = true;
}

size_t Tokenizer::match_special(std::string_view text, size_t pos, int32_t& id) const {
  if (!special_first_byte_[static_cast<uint8_t>(text[pos])]) return 0;
  for (int32_t special : specials_) {
    const std::string& token = vocab_.tokens[special];
    if (text.compare(pos, token.size(), token) == 0) {
      id = special;
      return token.size();
    }
  }
  return 0;
}

void Tokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  if (vocab_.kind == Vocab::Kind::kSpm) {
    spm_encode(text, vocab_, index_, out);
  } else {
    bpe_encode(text, vocab_, index_, out);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> out;
  if (add_bos) out.push_back(vocab_.bos_id);
  size_t plain_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    int32_t id = -1;
    const size_t len = match_special(text, pos, id);
    if (len == 0) {
      ++pos;
      continue;
    }
    encode_plain(text.substr(plain_start, pos - plain_start), out);
    out.push_back(id);
    pos += len;
    plain_start = pos;
  }
  encode_plain(text.substr(plain_start), out);
  return out;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  MOE_CHECK(id >= 0 && id < n_vocab(), FormatError, "token id ", id, " is outside the vocabulary of ", n_vocab(),
            " tokens");
  return bytes_[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id);
  if (vocab_.kind == Vocab::Kind::kSpm && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

}  // namespace moe::tokenizer
