// make_vocab: BPE training by pair counts over the words of english_text(). Ties between equally
// frequent pairs go to the byte-wise smallest (left, right), so the result never depends on hash
// order. Merging stops when no pair occurs twice; "[PADn]" tokens fill the rest.
#include "tokenizer/make_vocab.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace moe::tokenizer {
namespace {

const std::string kSpace = "\xE2\x96\x81";

struct Merge {
  std::string left, right;
};

// Words as sequences of symbol ids into `symbols`, with their counts.
class Trainer {
 public:
  void add_word(const std::vector<std::string>& chars, int64_t count) {
    std::vector<int32_t> word;
    for (const std::string& c : chars) word.push_back(intern(c));
    words_.push_back(std::move(word));
    counts_.push_back(count);
  }

  // Up to max_merges merges, most frequent pair first.
  std::vector<Merge> train(size_t max_merges) {
    std::vector<Merge> merges;
    while (merges.size() < max_merges) {
      std::unordered_map<uint64_t, int64_t> pair_counts;
      for (size_t w = 0; w < words_.size(); ++w) {
        for (size_t k = 0; k + 1 < words_[w].size(); ++k)
          pair_counts[key(words_[w][k], words_[w][k + 1])] += counts_[w];
      }
      int64_t best_count = 1;
      uint64_t best = 0;
      for (const auto& [pair, count] : pair_counts) {
        if (count > best_count || (count == best_count && count > 1 && text_less(pair, best))) {
          best_count = count;
          best = pair;
        }
      }
      if (best_count < 2) break;
      const int32_t left = static_cast<int32_t>(best >> 32);
      const int32_t right = static_cast<int32_t>(best & 0xFFFFFFFF);
      const int32_t merged = intern(symbols_[left] + symbols_[right]);
      merges.push_back({symbols_[left], symbols_[right]});
      for (auto& word : words_) {
        std::vector<int32_t> next;
        for (size_t k = 0; k < word.size(); ++k) {
          if (k + 1 < word.size() && word[k] == left && word[k + 1] == right) {
            next.push_back(merged);
            ++k;
          } else {
            next.push_back(word[k]);
          }
        }
        word = std::move(next);
      }
    }
    return merges;
  }

 private:
  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
  }
  bool text_less(uint64_t a, uint64_t b) const {
    auto texts = [&](uint64_t pair) { return std::tie(symbols_[pair >> 32], symbols_[pair & 0xFFFFFFFF]); };
    return texts(a) < texts(b);
  }
  int32_t intern(const std::string& text) {
    auto [it, added] = ids_.emplace(text, static_cast<int32_t>(symbols_.size()));
    if (added) symbols_.push_back(text);
    return it->second;
  }

  std::vector<std::string> symbols_;
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<std::vector<int32_t>> words_;
  std::vector<int64_t> counts_;
};

std::vector<std::string> utf8_chars(std::string_view text) {
  std::vector<std::string> chars;
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = utf8_char_len(text, pos);
    chars.emplace_back(text.substr(pos, len));
    pos += len;
  }
  return chars;
}

void add_token(Vocab& v, std::string text, float score, int32_t type) {
  v.tokens.push_back(std::move(text));
  v.scores.push_back(score);
  v.types.push_back(type);
}

// Fillers up to n_tokens, scored on from next_rank (SPM) as the pieces before them.
void pad_to(Vocab& v, size_t n_tokens, size_t next_rank) {
  for (int pad = 0; v.tokens.size() < n_tokens; ++pad) {
    add_token(v, "[PAD" + std::to_string(pad) + "]", -static_cast<float>(next_rank++), kTokenNormal);
  }
}

// SentencePiece trains on whitespace-separated words, each with its U+2581 prefix.
Vocab make_spm(size_t n_tokens) {
  Vocab v;
  v.kind = Vocab::Kind::kSpm;
  add_token(v, "<unk>", 0, kTokenUnknown);
  add_token(v, "<s>", 0, kTokenControl);
  add_token(v, "</s>", 0, kTokenControl);
  for (int byte = 0; byte < 256; ++byte) add_token(v, spm_byte_piece(static_cast<uint8_t>(byte)), 0, kTokenByte);
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  v.add_bos = true;

  std::map<std::string, int64_t> word_counts;
  std::map<std::string, int64_t> char_counts;
  const std::string_view text = english_text();
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = std::min(text.find_first_of(" \n", pos), text.size());
    if (end > pos) ++word_counts[kSpace + std::string(text.substr(pos, end - pos))];
    pos = end + 1;
  }
  Trainer trainer;
  for (const auto& [word, count] : word_counts) {
    const std::vector<std::string> chars = utf8_chars(word);
    for (const std::string& c : chars) char_counts[c] += count;
    trainer.add_word(chars, count);
  }
  // The alphabet, most frequent first, goes after the merged pieces as SentencePiece orders it.
  std::vector<std::pair<std::string, int64_t>> alphabet(char_counts.begin(), char_counts.end());
  std::stable_sort(alphabet.begin(), alphabet.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  MOE_ASSERT(v.tokens.size() + alphabet.size() < n_tokens);

  std::set<std::string> seen;
  for (const auto& [c, count] : alphabet) seen.insert(c);
  const size_t budget = n_tokens - v.tokens.size() - alphabet.size();
  size_t n_merged = 0;
  for (const Merge& merge : trainer.train(budget)) {
    std::string piece = merge.left + merge.right;
    if (!seen.insert(piece).second) continue;
    add_token(v, std::move(piece), -static_cast<float>(n_merged++), kTokenNormal);
  }
  for (const auto& [c, count] : alphabet) add_token(v, c, -static_cast<float>(n_merged++), kTokenNormal);
  pad_to(v, n_tokens, n_merged);
  return v;
}

Vocab make_bpe(size_t n_tokens) {
  Vocab v;
  v.kind = Vocab::Kind::kBpe;
  v.pre = "qwen2";
  // GPT-2's order: the bytes that map to themselves first, then the remapped ones.
  std::vector<uint8_t> order(256);
  std::iota(order.begin(), order.end(), 0);
  std::stable_partition(order.begin(), order.end(), [](uint8_t byte) {
    size_t len = 0;
    return utf8_decode(byte_to_unicode(byte), 0, len) == byte;
  });
  for (uint8_t byte : order) add_token(v, byte_to_unicode(byte), 0, kTokenNormal);

  std::map<std::string, int64_t> word_counts;
  for (std::string_view word : pre_tokenize(english_text(), PreTokenizer::kQwen2)) ++word_counts[std::string(word)];
  Trainer trainer;
  for (const auto& [word, count] : word_counts) {
    std::vector<std::string> chars;
    for (char c : word) chars.push_back(byte_to_unicode(static_cast<uint8_t>(c)));
    trainer.add_word(chars, count);
  }
  const size_t n_special = 3;
  std::set<std::string> seen(v.tokens.begin(), v.tokens.end());
  for (const Merge& merge : trainer.train(n_tokens - v.tokens.size() - n_special)) {
    v.merges.push_back(merge.left + " " + merge.right);
    std::string token = merge.left + merge.right;
    if (seen.insert(token).second) add_token(v, std::move(token), 0, kTokenNormal);
  }
  pad_to(v, n_tokens - n_special, 0);
  v.bos_id = v.eos_id = static_cast<int32_t>(v.tokens.size());
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) add_token(v, special, 0, kTokenControl);
  v.scores.clear();
  return v;
}

}  // namespace

Vocab make_vocab(Vocab::Kind kind, int32_t n_tokens) {
  MOE_CHECK(n_tokens >= 512, ConfigError, "vocab_size ", n_tokens, " is too small: make_vocab needs at least 512");
  return kind == Vocab::Kind::kSpm ? make_spm(static_cast<size_t>(n_tokens)) : make_bpe(static_cast<size_t>(n_tokens));
}

}  // namespace moe::tokenizer
