// GGUF glue for Vocab. Key names and value types follow gguf-py (constants.py, gguf_writer.py).
#include "tokenizer/gguf_vocab.h"

#include "core/error.h"
#include "tokenizer/hf_json.h"

namespace moe::tokenizer {
namespace {

const std::string kModel = "tokenizer.ggml.model";
const std::string kPre = "tokenizer.ggml.pre";
const std::string kTokens = "tokenizer.ggml.tokens";
const std::string kScores = "tokenizer.ggml.scores";
const std::string kTokenType = "tokenizer.ggml.token_type";
const std::string kMerges = "tokenizer.ggml.merges";
const std::string kBosId = "tokenizer.ggml.bos_token_id";
const std::string kEosId = "tokenizer.ggml.eos_token_id";
const std::string kUnkId = "tokenizer.ggml.unknown_token_id";
const std::string kPadId = "tokenizer.ggml.padding_token_id";
const std::string kAddBos = "tokenizer.ggml.add_bos_token";
const std::string kChatTemplate = "tokenizer.chat_template";

template <typename T>
T required(std::optional<T> value, const std::string& path, const std::string& key) {
  MOE_CHECK(value.has_value(), FormatError, path, ": missing key '", key, "'");
  return std::move(*value);
}

std::optional<int32_t> token_id(const io::GgufMetadata& meta, const std::string& key, const std::string& path) {
  const std::optional<int64_t> id = meta.get_int(key);
  if (!id) return std::nullopt;
  MOE_CHECK(*id >= 0 && *id <= INT32_MAX, FormatError, path, ": key '", key, "' = ", *id, " is not a token id");
  return static_cast<int32_t>(*id);
}

void check_size(size_t size, size_t n_tokens, const std::string& path, const std::string& key) {
  MOE_CHECK(size == n_tokens, FormatError, path, ": key '", key, "' has ", size, " entries for ", n_tokens, " tokens");
}

Vocab read_vocab(const io::GgufMetadata& meta, const std::string& path) {
  Vocab v;
  const std::string model = required(meta.get_string(kModel), path, kModel);
  MOE_CHECK(model == "llama" || model == "gpt2", FormatError, path, ": key '", kModel, "' = '", model,
            "' is not supported (want llama or gpt2)");
  v.kind = model == "llama" ? Vocab::Kind::kSpm : Vocab::Kind::kBpe;
  v.tokens = required(meta.get_string_array(kTokens), path, kTokens);
  const size_t n_tokens = v.tokens.size();
  if (v.kind == Vocab::Kind::kSpm) {
    v.scores = required(meta.get_float_array(kScores), path, kScores);
    check_size(v.scores.size(), n_tokens, path, kScores);
  } else {
    v.pre = required(meta.get_string(kPre), path, kPre);
    v.merges = required(meta.get_string_array(kMerges), path, kMerges);
    v.scores = meta.get_float_array(kScores).value_or(std::vector<float>{});
    if (!v.scores.empty()) check_size(v.scores.size(), n_tokens, path, kScores);
  }
  const std::vector<int64_t> types = required(meta.get_int_array(kTokenType), path, kTokenType);
  check_size(types.size(), n_tokens, path, kTokenType);
  v.types.assign(types.begin(), types.end());
  v.eos_id = required(token_id(meta, kEosId, path), path, kEosId);
  v.bos_id = token_id(meta, kBosId, path).value_or(v.eos_id);
  v.unk_id = token_id(meta, kUnkId, path);
  v.pad_id = token_id(meta, kPadId, path);
  v.add_bos = meta.get_bool(kAddBos).value_or(v.kind == Vocab::Kind::kSpm);
  v.chat_template = meta.get_string(kChatTemplate).value_or("");
  validate_vocab(v, path);
  return v;
}

}  // namespace

Vocab vocab_from_gguf(const io::GgufMetadata& meta, const std::string& path) {
  try {
    return read_vocab(meta, path);
  } catch (const FormatError& error) {  // GgufMetadata names the file only if it read one
    const std::string what = error.what();
    if (what.rfind(path, 0) == 0) throw;
    throw FormatError(detail::concat(path, ": ", what));
  }
}

void vocab_to_gguf(const Vocab& vocab, io::GgufMetadata& meta) {
  validate_vocab(vocab, "vocab");
  const bool spm = vocab.kind == Vocab::Kind::kSpm;
  meta.set_string(kModel, spm ? "llama" : "gpt2");
  // tokenizer.json's pipeline: its llama.cpp name when it has one we read back (Qwen2/3's, whose
  // NFC normalizer llama.cpp does not apply either).
  const std::string pre =
      vocab.pre == "hf" ? hf_pre_name(nlohmann::json::parse(vocab.hf_pipeline).at("pre_tokenizer")) : vocab.pre;
  MOE_CHECK(spm || !pre.empty(), FormatError,
            "GGUF: this tokenizer.json's pre_tokenizer has no tokenizer.ggml.pre name we write (qwen2, gpt2, olmo)");
  meta.set_string(kPre, spm ? "default" : pre);
  meta.set_string_array(kTokens, vocab.tokens);
  if (!vocab.scores.empty()) meta.set_float_array(kScores, vocab.scores);
  meta.set_int_array(kTokenType, std::vector<int64_t>(vocab.types.begin(), vocab.types.end()), io::GgufType::kInt32);
  if (!spm) meta.set_string_array(kMerges, vocab.merges);
  meta.set_int(kBosId, vocab.bos_id, io::GgufType::kUint32);
  meta.set_int(kEosId, vocab.eos_id, io::GgufType::kUint32);
  if (vocab.unk_id) meta.set_int(kUnkId, *vocab.unk_id, io::GgufType::kUint32);
  if (vocab.pad_id) meta.set_int(kPadId, *vocab.pad_id, io::GgufType::kUint32);
  meta.set_bool(kAddBos, vocab.add_bos);
  if (!vocab.chat_template.empty()) meta.set_string(kChatTemplate, vocab.chat_template);
}

}  // namespace moe::tokenizer
