// Byte-level BPE encoding (GPT-2, Qwen2, OLMoE; any tokenizer.json through HfPipeline): normalize
// and pre-tokenize, map each word's bytes to GPT-2's printable code points, then repeatedly merge
// the adjacent pair with the lowest merge rank (ties: leftmost), as llama.cpp's llm_tokenizer_bpe
// and HF tokenizers' BPE model do; with ignore_merges a word that is a token is taken whole.
#include <queue>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/symbol_merge.h"
#include "tokenizer/token_index.h"
#include "tokenizer/unicode.h"

namespace moe::tokenizer {
namespace {

using Symbol = MergeSymbol;

struct Candidate {
  int32_t rank;
  int left, right;
  size_t len;
  bool operator<(const Candidate& other) const {  // priority_queue: the top is the greatest
    return rank > other.rank || (rank == other.rank && left > other.left);
  }
};

class BpeWord {
 public:
  BpeWord(std::string_view word, const TokenIndex& index) : index_(index) {
    for (char c : word) {
      const std::string& mapped = byte_to_unicode(static_cast<uint8_t>(c));
      int idx = static_cast<int>(symbols_.size());
      symbols_.push_back({text_.size(), mapped.size(), idx - 1, -1});
      if (idx > 0) symbols_[idx - 1].next = idx;
      text_ += mapped;
    }
  }

  void encode(std::vector<int32_t>& out) {
    merge_symbols(symbols_, agenda_, [this](int left, int right) { add_candidate(left, right); });
    // Every symbol is a single byte's char or a merge result, both checked to be tokens.
    for (int idx = 0; idx >= 0; idx = symbols_[idx].next) out.push_back(index_.find(piece(symbols_[idx])));
  }

 private:
  std::string_view piece(const Symbol& s) const { return std::string_view(text_).substr(s.start, s.len); }

  void add_candidate(int left, int right) {
    if (left < 0 || right < 0) return;
    key_.assign(piece(symbols_[left]));
    key_ += ' ';
    key_ += piece(symbols_[right]);
    auto it = index_.merge_ranks.find(key_);
    if (it == index_.merge_ranks.end()) return;
    agenda_.push({it->second, left, right, symbols_[left].len + symbols_[right].len});
  }

  const TokenIndex& index_;
  std::string text_;
  std::string key_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Candidate> agenda_;
};

}  // namespace

void bpe_encode(std::string_view text, const Vocab& vocab, const TokenIndex& index, std::vector<int32_t>& out) {
  if (index.pipeline) {
    std::string mapped;
    for (const std::string& word : index.pipeline->pre_tokenize(index.pipeline->normalize(text))) {
      if (vocab.ignore_merges) {
        mapped.clear();
        for (char c : word) mapped += byte_to_unicode(static_cast<uint8_t>(c));
        if (const int32_t id = index.find(mapped); id >= 0) {
          out.push_back(id);
          continue;
        }
      }
      BpeWord(word, index).encode(out);
    }
    return;
  }
  const PreTokenizer kind = vocab.pre == "qwen2" ? PreTokenizer::kQwen2 : PreTokenizer::kGpt2;
  for (std::string_view word : pre_tokenize(text, kind)) BpeWord(word, index).encode(out);
}

}  // namespace moe::tokenizer
