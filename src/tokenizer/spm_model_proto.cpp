// Protocol buffer wire format, just enough of it: varints, 32-bit floats and length-delimited
// fields. Field numbers are those of sentencepiece_model.proto.
#include "tokenizer/spm_model_proto.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <unordered_set>

#include "core/error.h"

namespace moe::tokenizer {
namespace {

enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

// ModelProto
constexpr uint32_t kPieces = 1, kTrainerSpec = 2, kNormalizerSpec = 3;
// ModelProto.SentencePiece
constexpr uint32_t kPiece = 1, kScore = 2, kType = 3;
// TrainerSpec
constexpr uint32_t kModelType = 3, kVocabSize = 4, kByteFallback = 35, kUnkId = 40, kBosId = 41, kEosId = 42,
                   kPadId = 43, kUnkPiece = 45, kBosPiece = 46, kEosPiece = 47, kPadPiece = 48;
constexpr int kModelTypeBpe = 2;
// NormalizerSpec
constexpr uint32_t kName = 1, kAddDummyPrefix = 3, kRemoveExtraWhitespaces = 4, kEscapeWhitespaces = 5;

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}
void put_key(std::string& out, uint32_t field, Wire wire) { put_varint(out, (field << 3) | wire); }
// int32 fields are sign-extended to 64 bits on the wire, so -1 takes ten bytes.
void put_int(std::string& out, uint32_t field, int64_t value) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(value));
}
void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kBytes);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_float(std::string& out, uint32_t field, float value) {
  put_key(out, field, kFixed32);
  char bytes[4];
  std::memcpy(bytes, &value, 4);  // little-endian hosts only, as everything GGUF
  out.append(bytes, 4);
}

class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  bool varint(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  // Reads one field's key and value; a length-delimited value is returned in `bytes`.
  bool field(uint32_t& number, uint64_t& value, std::string_view& bytes) {
    uint64_t key = 0;
    if (!varint(key)) return false;
    number = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case kVarint:
        return varint(value);
      case kFixed64:
        return skip(8);
      case kFixed32:
        return skip(4);
      case kBytes:
        if (!varint(value) || value > data_.size() - pos_) return false;
        bytes = data_.substr(pos_, value);
        pos_ += value;
        return true;
      default:
        return false;
    }
  }

 private:
  bool skip(size_t n) {
    if (n > data_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

std::string encode_spm_model_proto(const Vocab& vocab) {
  validate_vocab(vocab, "tokenizer.model");
  MOE_CHECK(vocab.kind == Vocab::Kind::kSpm, FormatError, "tokenizer.model: not an SPM vocabulary");
  MOE_CHECK(vocab.unk_id.has_value(), FormatError, "tokenizer.model: SentencePiece needs an unknown token");
  std::string out;
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    std::string piece;
    put_bytes(piece, kPiece, vocab.tokens[id]);
    put_float(piece, kScore, vocab.scores[id]);
    put_int(piece, kType, vocab.types[id]);
    put_bytes(out, kPieces, piece);
  }
  const auto n_bytes = std::count(vocab.types.begin(), vocab.types.end(), kTokenByte);
  std::string trainer;
  put_int(trainer, kModelType, kModelTypeBpe);
  put_int(trainer, kVocabSize, static_cast<int64_t>(vocab.tokens.size()));
  put_int(trainer, kByteFallback, n_bytes == 256 ? 1 : 0);
  put_int(trainer, kUnkId, *vocab.unk_id);
  put_int(trainer, kBosId, vocab.bos_id);
  put_int(trainer, kEosId, vocab.eos_id);
  put_int(trainer, kPadId, vocab.pad_id.value_or(-1));
  put_bytes(trainer, kUnkPiece, vocab.tokens[*vocab.unk_id]);
  put_bytes(trainer, kBosPiece, vocab.tokens[vocab.bos_id]);
  put_bytes(trainer, kEosPiece, vocab.tokens[vocab.eos_id]);
  if (vocab.pad_id) put_bytes(trainer, kPadPiece, vocab.tokens[*vocab.pad_id]);
  put_bytes(out, kTrainerSpec, trainer);
  std::string normalizer;
  put_bytes(normalizer, kName, "identity");
  put_int(normalizer, kAddDummyPrefix, 1);
  put_int(normalizer, kRemoveExtraWhitespaces, 0);
  put_int(normalizer, kEscapeWhitespaces, 1);
  put_bytes(out, kNormalizerSpec, normalizer);
  return out;
}

std::optional<int> spm_model_type(std::string_view serialized) {
  int model_type = 1;
  WireReader model(serialized);
  while (!model.done()) {
    uint32_t number = 0;
    uint64_t value = 0;
    std::string_view bytes;
    if (!model.field(number, value, bytes)) return std::nullopt;
    if (number != kTrainerSpec) continue;
    WireReader trainer(bytes);
    while (!trainer.done()) {
      if (!trainer.field(number, value, bytes)) return std::nullopt;
      if (number == kModelType) model_type = static_cast<int>(value);
    }
  }
  return model_type;
}

std::optional<std::string> spm_pieces_problem(std::string_view serialized) {
  std::unordered_set<std::string_view> seen;
  WireReader model(serialized);
  int64_t index = 0;
  while (!model.done()) {
    uint32_t number = 0;
    uint64_t value = 0;
    std::string_view bytes;
    if (!model.field(number, value, bytes)) return "not a well-formed ModelProto message";
    if (number != kPieces) continue;
    WireReader piece(bytes);
    std::string_view text;
    while (!piece.done()) {
      if (!piece.field(number, value, bytes)) return "piece " + std::to_string(index) + " is not a well-formed message";
      if (number == kPiece) text = bytes;
    }
    if (text.empty()) return "piece " + std::to_string(index) + " is empty";
    if (text.find('\0') != std::string_view::npos) return "piece " + std::to_string(index) + " holds a NUL byte";
    if (!seen.insert(text).second) return "piece " + std::to_string(index) + " comes twice";
    ++index;
  }
  return std::nullopt;
}

}  // namespace moe::tokenizer
