// load_hf_vocab: tokenizer.json (SPM-style or byte-level BPE) or tokenizer.model, plus the special
// tokens and chat template of tokenizer_config.json (or chat_template.jinja). A byte-level BPE file
// whose pipeline is exactly Qwen2's or GPT-2's keeps the hand-written pre-tokenizer ("qwen2" /
// "gpt2"); any other (NFC, DeepSeek-V3's Split sequence, o200k's) is carried as JSON and run by
// HfPipeline (pre = "hf").
#include <sentencepiece_processor.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "io/json_file.h"
#include "tokenizer/chat_template/chat_template.h"
#include "tokenizer/hf_files.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/hf_pipeline.h"
#include "tokenizer/spm_model_proto.h"
#include "tokenizer/token_index.h"

namespace moe::tokenizer {
namespace {

using nlohmann::json;
const std::string kSpace = "\xE2\x96\x81";

// A token id as tokenizer.json writes it: an integer in int32's range, else FormatError.
int64_t token_id(const json& value, const std::string& path) {
  MOE_CHECK(value.is_number_integer() && value.get<int64_t>() >= 0 &&
                value.get<int64_t>() <= std::numeric_limits<int32_t>::max(),
            FormatError, path, ": token id ", value.dump(-1, ' ', true, json::error_handler_t::replace),
            " is not an integer in [0, 2^31)");
  return value.get<int64_t>();
}
constexpr int64_t kMaxIdGap = 1024;  // unlisted ids beyond as many as are listed

// Special ids before tokenizer_config.json has its say.
struct Specials {
  std::optional<int32_t> bos, eos;
};

std::optional<int32_t> find_id(const Vocab& vocab, const std::string& text) {
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    if (vocab.tokens[id] == text) return static_cast<int32_t>(id);
  }
  return std::nullopt;
}

bool is_byte_piece(const std::string& text) {
  return text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>' &&
         std::isxdigit(static_cast<unsigned char>(text[3])) && std::isxdigit(static_cast<unsigned char>(text[4]));
}

// SPM style: byte fallback, or U+2581 handled by a Metaspace pre-tokenizer / Prepend normalizer.
bool is_spm_style(const json& root) {
  const json& model = root.at("model");
  if (model.value("byte_fallback", false)) return true;
  const json& pre = root.value("pre_tokenizer", json());
  if (pre.is_object() && pre.value("type", "") == "Metaspace") return true;
  const json& norm = root.value("normalizer", json());
  if (norm.is_object() && norm.value("type", "") == "Sequence") {
    for (const json& step : norm.at("normalizers")) {
      if (step.value("type", "") == "Prepend" && step.value("prepend", "") == kSpace) return true;
    }
  }
  return false;
}

}  // namespace

std::string hf_pre_name(const json& pre) {
  if (!pre.is_object()) return "";
  std::vector<json> steps = {pre};
  if (pre.value("type", "") == "Sequence") steps = pre.at("pretokenizers").get<std::vector<json>>();
  bool qwen2_split = false;
  bool byte_level = false;
  bool byte_level_regex = false;
  for (const json& step : steps) {
    const std::string type = step.value("type", "");
    if (type == "Split" && step.at("pattern").value("Regex", "") == kQwen2Regex) qwen2_split = true;
    if (type == "ByteLevel") {
      byte_level = true;
      byte_level_regex = step.value("use_regex", true);
    }
  }
  if (qwen2_split && byte_level && !byte_level_regex) return "qwen2";
  if (!qwen2_split && byte_level_regex && steps.size() == 1) return "gpt2";
  return "";
}

namespace {

// Rebuilds SPM scores from HF's merge order: a merged piece scores -(its first merge's position
// among distinct results), the remaining normal pieces continue below in id order, and
// special, byte and unused pieces score 0.
std::vector<float> spm_scores_from_merges(const Vocab& v, const StringMap& ids) {
  std::vector<float> scores(v.tokens.size(), 0.0f);
  std::vector<bool> scored(v.tokens.size(), false);
  int64_t rank = 0;
  for (const std::string& merge : v.merges) {
    const size_t space = merge.find(' ');
    auto it = ids.find(merge.substr(0, space) + merge.substr(space + 1));
    if (it == ids.end() || scored[it->second]) continue;
    scores[it->second] = -static_cast<float>(rank++);
    scored[it->second] = true;
  }
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    if (!scored[id] && v.types[id] == kTokenNormal) scores[id] = -static_cast<float>(rank++);
  }
  return scores;
}

// TemplateProcessing whose single template starts with a special token: that token is BOS and is
// added; ByteLevel changes offsets only. Processors that add other tokens are refused.
void apply_post_processor(const json& node, const std::string& where, Vocab& v, Specials& specials,
                          const std::string& path) {
  if (node.is_null()) return;
  const std::string type = node.value("type", "");
  if (type == "Sequence") {
    const json& list = node.at("processors");
    for (size_t idx = 0; idx < list.size(); ++idx) {
      apply_post_processor(list[idx], where + ".processors[" + std::to_string(idx) + "]", v, specials, path);
    }
  } else if (type == "TemplateProcessing") {
    const json& single = node.at("single");
    for (size_t idx = 0; idx < single.size(); ++idx) {
      if (!single[idx].contains("SpecialToken")) continue;
      const std::string text = single[idx]["SpecialToken"].at("id").get<std::string>();
      MOE_CHECK(idx == 0, FormatError, path, ": ", where, ".single[", idx, "] adds '", text,
                "' after the text: only a leading BOS is supported");
      const std::optional<int32_t> id = find_id(v, text);
      MOE_CHECK(id.has_value(), FormatError, path, ": ", where, ".single[0] '", text, "' is not in the vocabulary");
      specials.bos = id;
      v.add_bos = true;
    }
  } else {
    MOE_CHECK(type == "ByteLevel", FormatError, path, ": ", where, ".type '", type, "' is not supported");
  }
}

Vocab parse_tokenizer_json(const json& root, const std::string& path, Specials& specials) {
  const json& model = root.at("model");
  const std::string model_type = model.value("type", "");
  MOE_CHECK(model_type == "BPE", FormatError, path, ": model.type '", model_type, "' is not supported (want BPE)");
  Vocab v;
  v.kind = is_spm_style(root) ? Vocab::Kind::kSpm : Vocab::Kind::kBpe;
  if (v.kind == Vocab::Kind::kBpe) {
    const json normalizer = root.value("normalizer", json());
    v.pre = normalizer.is_null() ? hf_pre_name(root.value("pre_tokenizer", json())) : "";
    if (v.pre.empty()) {
      const json pipeline = {{"normalizer", normalizer}, {"pre_tokenizer", root.value("pre_tokenizer", json())}};
      HfPipeline check(pipeline, path);  // refuses, naming the JSON path, what it does not read
      v.pre = "hf";
      v.hf_pipeline = pipeline.dump();
    }
    v.ignore_merges = model.value("ignore_merges", false);
    MOE_CHECK(model.value("continuing_subword_prefix", json()).is_null() || model["continuing_subword_prefix"] == "",
              FormatError, path, ": model.continuing_subword_prefix is not supported");
    MOE_CHECK(model.value("end_of_word_suffix", json()).is_null() || model["end_of_word_suffix"] == "", FormatError,
              path, ": model.end_of_word_suffix is not supported");
  }
  // id -> (text, type); added_tokens override the model's vocab entry of the same id.
  std::map<int64_t, std::pair<std::string, int32_t>> entries;
  for (const auto& [text, id] : model.at("vocab").items()) {
    const int32_t type = v.kind == Vocab::Kind::kSpm && is_byte_piece(text) ? kTokenByte : kTokenNormal;
    entries[token_id(id, path)] = {text, type};
  }
  const json unk_token = model.value("unk_token", json());
  for (const json& added : root.value("added_tokens", json::array())) {
    const std::string text = added.at("content").get<std::string>();
    int32_t type = added.value("special", false) ? kTokenControl : kTokenUserDefined;
    if (unk_token.is_string() && text == unk_token.get<std::string>()) type = kTokenUnknown;
    const int64_t id = token_id(added.at("id"), path);
    auto it = entries.find(id);
    MOE_CHECK(it == entries.end() || it->second.first == text, FormatError, path, ": id ", id, " is both '",
              it->second.first, "' and '", text, "'");
    entries[id] = {text, type};
  }
  MOE_CHECK(!entries.empty(), FormatError, path, ": no tokens");
  // Gaps are filled (below); their total is bounded by the tokens listed, so that a file of a few
  // bytes cannot claim billions of ids.
  const int64_t n_ids = entries.rbegin()->first + 1, listed = static_cast<int64_t>(entries.size());
  MOE_CHECK(n_ids - listed <= listed + kMaxIdGap, FormatError, path, ": ids go up to ", n_ids - 1, " but only ", listed,
            " tokens are listed");
  for (const auto& [id, entry] : entries) {
    while (static_cast<int64_t>(v.tokens.size()) < id) {  // a gap: filler as llama.cpp's convert
      v.tokens.push_back("[PAD" + std::to_string(v.tokens.size()) + "]");
      v.types.push_back(kTokenUnused);
    }
    v.tokens.push_back(entry.first);
    v.types.push_back(entry.second);
  }
  for (const json& merge : model.value("merges", json::array())) {
    v.merges.push_back(merge.is_array() ? merge.at(0).get<std::string>() + " " + merge.at(1).get<std::string>()
                                        : merge.get<std::string>());
  }
  if (unk_token.is_string()) {
    v.unk_id = find_id(v, unk_token.get<std::string>());
    if (v.unk_id) v.types[*v.unk_id] = kTokenUnknown;
  }
  if (v.kind == Vocab::Kind::kSpm) {
    StringMap ids;
    for (size_t id = 0; id < v.tokens.size(); ++id) ids.emplace(v.tokens[id], static_cast<int32_t>(id));
    v.scores = spm_scores_from_merges(v, ids);
    v.merges.clear();
    specials = {find_id(v, "<s>"), find_id(v, "</s>")};
    v.add_bos = true;  // LlamaTokenizerFast's default
  } else {
    specials = {std::nullopt, find_id(v, "<|endoftext|>")};
  }
  apply_post_processor(root.value("post_processor", json()), "post_processor", v, specials, path);
  return v;
}

Vocab read_tokenizer_json(const std::string& path, Specials& specials) {
  const json root = io::read_json_file(path);
  try {
    return parse_tokenizer_json(root, path, specials);
  } catch (const json::exception& error) {
    throw FormatError(detail::concat(path, ": unexpected layout: ", error.what()));
  }
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MOE_CHECK(in.is_open(), IoError, path, ": cannot open");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

Vocab read_tokenizer_model(const std::string& path, Specials& specials) {
  const std::string serialized = read_bytes(path);
  // Checked before libsentencepiece sees the bytes: its trie builders end the process on some.
  const std::optional<int> model_type = spm_model_type(serialized);
  MOE_CHECK(model_type.has_value(), FormatError, path, ": not a SentencePiece model: not a well-formed message");
  MOE_CHECK(model_type == 2, FormatError, path, ": SentencePiece model type ", *model_type, " is not BPE (2)");
  if (const std::optional<std::string> problem = spm_pieces_problem(serialized))
    throw FormatError(detail::concat(path, ": not a usable SentencePiece model: ", *problem));
  sentencepiece::SentencePieceProcessor sp;
  const auto status = sp.LoadFromSerializedProto(serialized);
  MOE_CHECK(status.ok(), FormatError, path, ": not a SentencePiece model: ", status.ToString());
  Vocab v;
  v.kind = Vocab::Kind::kSpm;
  for (int id = 0; id < sp.GetPieceSize(); ++id) {
    v.tokens.push_back(sp.IdToPiece(id));
    v.scores.push_back(sp.GetScore(id));
    v.types.push_back(sp.IsUnknown(id)   ? kTokenUnknown
                      : sp.IsControl(id) ? kTokenControl
                      : sp.IsUnused(id)  ? kTokenUnused
                      : sp.IsByte(id)    ? kTokenByte
                                         : kTokenNormal);
  }
  auto id_or_none = [](int id) { return id < 0 ? std::nullopt : std::optional<int32_t>(id); };
  v.unk_id = id_or_none(sp.unk_id());
  v.pad_id = id_or_none(sp.pad_id());
  v.add_bos = true;
  specials = {id_or_none(sp.bos_id()), id_or_none(sp.eos_id())};
  return v;
}

// A token named in tokenizer_config.json: a string, an AddedToken object, or null.
std::optional<int32_t> config_token(const json& config, const char* key, const Vocab& v, const std::string& path) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const json& value = config[key];
  MOE_CHECK(value.is_string() || (value.is_object() && value.contains("content")), FormatError, path, ": ", key,
            " is neither a string nor an object with \"content\"");
  const std::string text = value.is_string() ? value.get<std::string>() : value["content"].get<std::string>();
  const std::optional<int32_t> id = find_id(v, text);
  MOE_CHECK(id.has_value(), FormatError, path, ": ", key, " '", text, "' is not in the vocabulary");
  return id;
}

void apply_tokenizer_config(Vocab& v, Specials& specials, const std::string& path) {
  const json config = io::read_json_file(path);
  if (auto id = config_token(config, "bos_token", v, path)) specials.bos = id;
  if (auto id = config_token(config, "eos_token", v, path)) specials.eos = id;
  if (auto id = config_token(config, "pad_token", v, path)) v.pad_id = id;
  if (config.contains("add_bos_token")) {
    MOE_CHECK(config["add_bos_token"].is_boolean(), FormatError, path, ": add_bos_token is not a boolean");
    v.add_bos = config["add_bos_token"].get<bool>();
  }
  if (config.contains("chat_template")) v.chat_template = chat_template_from_config(config["chat_template"], path);
}

}  // namespace

Vocab load_hf_vocab(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string json_path = dir + "/tokenizer.json";
  const std::string model_path = dir + "/tokenizer.model";
  const std::string config_path = dir + "/tokenizer_config.json";
  Specials specials;
  Vocab v;
  std::string source;
  if (fs::exists(json_path)) {
    v = read_tokenizer_json(json_path, specials);
    source = json_path;
  } else if (fs::exists(model_path)) {
    v = read_tokenizer_model(model_path, specials);
    source = model_path;
  } else {
    throw IoError(detail::concat(dir, ": no tokenizer.json or tokenizer.model"));
  }
  if (fs::exists(config_path)) apply_tokenizer_config(v, specials, config_path);
  // transformers >= 4.43 saves the template beside the config, and reads it first.
  if (const std::string jinja_path = dir + "/chat_template.jinja"; fs::exists(jinja_path))
    v.chat_template = read_bytes(jinja_path);
  MOE_CHECK(specials.eos.has_value(), FormatError, source, ": no end-of-sequence token (set eos_token in ", config_path,
            ")");
  v.eos_id = *specials.eos;
  v.bos_id = specials.bos.value_or(*specials.eos);
  validate_vocab(v, source);
  return v;
}

}  // namespace moe::tokenizer
