// SentencePiece BPE encoding, as libsentencepiece's bpe_model.cc and llama.cpp's
// llm_tokenizer_spm do it: start from UTF-8 characters, repeatedly merge the adjacent pair whose
// concatenation is the highest-scoring piece (ties: leftmost), then emit pieces, falling back to
// <0xNN> byte tokens for characters that are not pieces.
#include <queue>

#include "tokenizer/symbol_merge.h"
#include "tokenizer/token_index.h"
#include "tokenizer/unicode.h"

namespace moe::tokenizer {
namespace {

const std::string kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

using Symbol = MergeSymbol;

struct Candidate {
  float score;
  int left, right;
  size_t len;
  bool operator<(const Candidate& other) const {  // priority_queue: the top is the greatest
    return score < other.score || (score == other.score && left > other.left);
  }
};

// Pieces SentencePiece may merge into: its "pieces_" (normal, user-defined, unused), not bytes,
// control or unknown tokens.
bool mergeable(int32_t type) { return type == kTokenNormal || type == kTokenUserDefined || type == kTokenUnused; }

class SpmSession {
 public:
  SpmSession(const Vocab& vocab, const TokenIndex& index) : vocab_(vocab), index_(index) {}

  void encode(std::string_view raw, std::vector<int32_t>& out) {
    // Identity normalizer with add_dummy_prefix and escaped whitespace.
    text_ = kSpace;
    for (char c : raw) c == ' ' ? text_ += kSpace : text_ += c;
    for (size_t pos = 0; pos < text_.size();) {
      size_t len = utf8_char_len(text_, pos);
      int idx = static_cast<int>(symbols_.size());
      symbols_.push_back({pos, len, idx - 1, pos + len < text_.size() ? idx + 1 : -1});
      pos += len;
    }
    merge_symbols(symbols_, agenda_, [this](int left, int right) { add_candidate(left, right); });
    for (int idx = 0; idx >= 0 && !symbols_.empty(); idx = symbols_[idx].next) {
      resegment(piece(symbols_[idx]), out);
    }
  }

 private:
  std::string_view piece(const Symbol& s) const { return std::string_view(text_).substr(s.start, s.len); }

  void add_candidate(int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view merged =
        std::string_view(text_).substr(symbols_[left].start, symbols_[left].len + symbols_[right].len);
    const int32_t id = index_.find(merged);
    if (id < 0 || !mergeable(vocab_.types[id])) return;
    agenda_.push({vocab_.scores[id], left, right, merged.size()});
    // An unused piece may be merged through but is never emitted: remember how it was built.
    if (vocab_.types[id] == kTokenUnused) {
      rev_merge_[std::string(merged)] = {std::string(piece(symbols_[left])), std::string(piece(symbols_[right]))};
    }
  }

  void resegment(std::string_view text, std::vector<int32_t>& out) const {
    const int32_t id = index_.find(text);
    if (id >= 0 && vocab_.types[id] == kTokenUnused) {
      auto it = rev_merge_.find(std::string(text));
      if (it != rev_merge_.end()) {
        resegment(it->second.first, out);
        resegment(it->second.second, out);
        return;
      }
    }
    if (id >= 0 && vocab_.types[id] != kTokenUnknown) {
      out.push_back(id);
      return;
    }
    const size_t first = out.size();
    for (char c : text) {
      const int32_t byte_id = index_.byte_ids[static_cast<uint8_t>(c)];
      if (byte_id < 0) {  // no byte token: one <unk> (the tokenizer checked it exists) for the symbol
        out.resize(first);
        out.push_back(*vocab_.unk_id);
        return;
      }
      out.push_back(byte_id);
    }
  }

  const Vocab& vocab_;
  const TokenIndex& index_;
  std::string text_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Candidate> agenda_;
  std::unordered_map<std::string, std::pair<std::string, std::string>> rev_merge_;
};

}  // namespace

void spm_encode(std::string_view text, const Vocab& vocab, const TokenIndex& index, std::vector<int32_t>& out) {
  if (text.empty()) return;
  SpmSession(vocab, index).encode(text, out);
}

}  // namespace moe::tokenizer
