// ModelConfig <-> HF config.json (the published models' keys) and GGUF metadata (llama.cpp's keys).
#include "model/model_config.h"

#include "core/error.h"

namespace moe::model {

namespace {

struct ArchNames {
  Arch arch;
  const char* name;
  const char* model_type;
  const char* architecture;  // config.json "architectures"[0]
  const char* gguf;
};

constexpr ArchNames kArchNames[] = {
    {Arch::kMixtral, "mixtral", "mixtral", "MixtralForCausalLM", "llama"},
    {Arch::kQwen2Moe, "qwen2moe", "qwen2_moe", "Qwen2MoeForCausalLM", "qwen2moe"},
    {Arch::kQwen3Moe, "qwen3moe", "qwen3_moe", "Qwen3MoeForCausalLM", "qwen3moe"},
    {Arch::kOlmoe, "olmoe", "olmoe", "OlmoeForCausalLM", "olmoe"},
};

const ArchNames& names(Arch arch) {
  for (const ArchNames& entry : kArchNames)
    if (entry.arch == arch) return entry;
  throw Error("internal error: unknown arch");
}

// Reads a required or optional key of config.json with the file named in errors.
class JsonReader {
 public:
  JsonReader(const nlohmann::json& json, const std::string& source) : json_(json), source_(source) {}

  template <typename T>
  T get(const char* key) const {
    MOE_CHECK(json_.contains(key) && !json_[key].is_null(), ConfigError, source_, ": missing key '", key, "'");
    return convert<T>(key);
  }
  template <typename T>
  T get(const char* key, T fallback) const {
    if (!json_.contains(key) || json_[key].is_null()) return fallback;
    return convert<T>(key);
  }
  bool has(const char* key) const { return json_.contains(key) && !json_[key].is_null(); }

 private:
  template <typename T>
  T convert(const char* key) const {
    try {
      return json_[key].get<T>();
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(detail::concat(source_, ": key '", key, "' has the wrong type (", json_[key].dump(), ")"));
    }
  }
  const nlohmann::json& json_;
  const std::string& source_;
};

}  // namespace

const char* arch_name(Arch arch) { return names(arch).name; }
const char* hf_model_type(Arch arch) { return names(arch).model_type; }
const char* gguf_arch_name(Arch arch) { return names(arch).gguf; }

void ModelConfig::validate() const {
  MOE_CHECK(vocab_size > 0, ConfigError, "vocab_size: must be > 0");
  MOE_CHECK(hidden_size > 0, ConfigError, "hidden_size: must be > 0");
  MOE_CHECK(n_layers > 0, ConfigError, "num_hidden_layers: must be > 0");
  MOE_CHECK(n_heads > 0 && n_kv_heads > 0 && n_heads % n_kv_heads == 0, ConfigError,
            "num_key_value_heads: ", n_kv_heads, " must divide num_attention_heads = ", n_heads);
  MOE_CHECK(head_dim > 0 && head_dim % 2 == 0, ConfigError, "head_dim: must be even and > 0, got ", head_dim);
  MOE_CHECK(expert_ffn > 0, ConfigError, "moe_intermediate_size: must be > 0");
  MOE_CHECK(rms_eps > 0, ConfigError, "rms_norm_eps: must be > 0");
  MOE_CHECK(rope_theta > 0, ConfigError, "rope_theta: must be > 0");
  router.validate();
}

ModelConfig config_from_hf(const nlohmann::json& json, const std::string& source) {
  MOE_CHECK(json.is_object(), ConfigError, source, ": not a JSON object");
  JsonReader reader(json, source);
  const auto model_type = reader.get<std::string>("model_type");
  ModelConfig config;
  bool found = false;
  for (const ArchNames& entry : kArchNames)
    if (model_type == entry.model_type) {
      config.arch = entry.arch;
      found = true;
    }
  MOE_CHECK(found, ConfigError, source, ": unknown architecture model_type '", model_type,
            "' (supported: mixtral, qwen2_moe, qwen3_moe, olmoe)");

  config.vocab_size = reader.get<int64_t>("vocab_size");
  config.hidden_size = reader.get<int64_t>("hidden_size");
  config.n_layers = reader.get<int64_t>("num_hidden_layers");
  config.n_heads = reader.get<int64_t>("num_attention_heads");
  config.n_kv_heads = reader.get<int64_t>("num_key_value_heads", config.n_heads);
  MOE_CHECK(config.n_heads > 0, ConfigError, source, ": num_attention_heads must be > 0");
  config.head_dim = reader.get<int64_t>("head_dim", config.hidden_size / config.n_heads);
  config.max_positions = reader.get<int64_t>("max_position_embeddings", 4096);
  config.rms_eps = reader.get<float>("rms_norm_eps", 1e-6f);
  config.rope_theta = reader.get<double>("rope_theta", 10000.0);
  config.tie_embeddings = reader.get<bool>("tie_word_embeddings", false);
  config.router.score_function = ScoreFunction::kSoftmax;
  config.router.top_k = reader.get<int64_t>("num_experts_per_tok");

  switch (config.arch) {
    case Arch::kMixtral:
      config.expert_ffn = reader.get<int64_t>("intermediate_size");
      config.router.n_experts = reader.get<int64_t>("num_local_experts");
      config.router.renormalize = true;
      break;
    case Arch::kQwen2Moe:
    case Arch::kQwen3Moe:
      config.expert_ffn = reader.get<int64_t>("moe_intermediate_size");
      config.router.n_experts = reader.get<int64_t>("num_experts");
      config.router.renormalize = reader.get<bool>("norm_topk_prob", false);
      MOE_CHECK(reader.get<int64_t>("decoder_sparse_step", 1) == 1 &&
                    reader.get<std::vector<int64_t>>("mlp_only_layers", {}).empty(),
                ConfigError, source, ": dense layers (decoder_sparse_step != 1 or mlp_only_layers) are not supported");
      if (config.arch == Arch::kQwen2Moe) {
        config.shared_expert_ffn = reader.get<int64_t>("shared_expert_intermediate_size", 0);
        config.qkv_bias = true;
      } else {
        config.qk_norm = QkNorm::kPerHead;
        config.qkv_bias = reader.get<bool>("attention_bias", false);
      }
      break;
    case Arch::kOlmoe:
      config.expert_ffn = reader.get<int64_t>("intermediate_size");
      config.router.n_experts = reader.get<int64_t>("num_experts");
      config.router.renormalize = reader.get<bool>("norm_topk_prob", false);
      config.qk_norm = QkNorm::kWhole;
      if (reader.has("clip_qkv")) config.clip_qkv = reader.get<float>("clip_qkv");
      break;
  }
  try {
    config.validate();
  } catch (const ConfigError& error) {
    throw ConfigError(detail::concat(source, ": ", error.what()));
  }
  return config;
}

nlohmann::json config_to_hf(const ModelConfig& config) {
  nlohmann::json json;
  json["architectures"] = {names(config.arch).architecture};
  json["model_type"] = hf_model_type(config.arch);
  json["vocab_size"] = config.vocab_size;
  json["hidden_size"] = config.hidden_size;
  json["num_hidden_layers"] = config.n_layers;
  json["num_attention_heads"] = config.n_heads;
  json["num_key_value_heads"] = config.n_kv_heads;
  json["head_dim"] = config.head_dim;
  json["max_position_embeddings"] = config.max_positions;
  json["rms_norm_eps"] = config.rms_eps;
  json["rope_theta"] = config.rope_theta;
  json["tie_word_embeddings"] = config.tie_embeddings;
  json["num_experts_per_tok"] = config.router.top_k;
  json["hidden_act"] = "silu";
  json["torch_dtype"] = "float32";
  switch (config.arch) {
    case Arch::kMixtral:
      json["intermediate_size"] = config.expert_ffn;
      json["num_local_experts"] = config.router.n_experts;
      break;
    case Arch::kQwen2Moe:
    case Arch::kQwen3Moe:
      json["moe_intermediate_size"] = config.expert_ffn;
      json["intermediate_size"] = config.expert_ffn;
      json["num_experts"] = config.router.n_experts;
      json["norm_topk_prob"] = config.router.renormalize;
      json["decoder_sparse_step"] = 1;
      json["mlp_only_layers"] = nlohmann::json::array();
      if (config.arch == Arch::kQwen2Moe)
        json["shared_expert_intermediate_size"] = config.shared_expert_ffn;
      else
        json["attention_bias"] = config.qkv_bias;
      break;
    case Arch::kOlmoe:
      json["intermediate_size"] = config.expert_ffn;
      json["num_experts"] = config.router.n_experts;
      json["norm_topk_prob"] = config.router.renormalize;
      json["clip_qkv"] = config.clip_qkv ? nlohmann::json(*config.clip_qkv) : nlohmann::json();
      break;
  }
  return json;
}

ModelConfig config_from_gguf(const io::GgufMetadata& meta, const std::string& source) {
  const auto arch_value = meta.get_string("general.architecture");
  MOE_CHECK(arch_value.has_value(), FormatError, source, ": missing key 'general.architecture'");
  ModelConfig config;
  bool found = false;
  for (const ArchNames& entry : kArchNames)
    if (*arch_value == entry.gguf) {
      config.arch = entry.arch;
      found = true;
    }
  MOE_CHECK(found, ConfigError, source, ": unknown architecture '", *arch_value,
            "' (supported: llama with experts, qwen2moe, qwen3moe, olmoe)");
  const std::string prefix = *arch_value + ".";
  auto require_int = [&](const std::string& key) {
    const auto value = meta.get_int(prefix + key);
    MOE_CHECK(value.has_value(), FormatError, source, ": missing key '", prefix + key, "'");
    return *value;
  };
  auto optional_int = [&](const std::string& key) { return meta.get_int(prefix + key); };

  config.hidden_size = require_int("embedding_length");
  config.n_layers = require_int("block_count");
  config.n_heads = require_int("attention.head_count");
  config.n_kv_heads = optional_int("attention.head_count_kv").value_or(config.n_heads);
  MOE_CHECK(config.n_heads > 0, FormatError, source, ": ", prefix, "attention.head_count must be > 0");
  config.head_dim = optional_int("attention.key_length").value_or(config.hidden_size / config.n_heads);
  config.max_positions = optional_int("context_length").value_or(4096);
  config.rms_eps = static_cast<float>(meta.get_float(prefix + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  config.rope_theta = meta.get_float(prefix + "rope.freq_base").value_or(10000.0);
  const auto n_experts = optional_int("expert_count");
  MOE_CHECK(n_experts.has_value() && *n_experts > 0, ConfigError, source,
            ": a model without experts (", prefix, "expert_count) is not an MoE model");
  config.router.n_experts = *n_experts;
  config.router.top_k = require_int("expert_used_count");
  config.expert_ffn = optional_int("expert_feed_forward_length").value_or(0);
  if (config.expert_ffn == 0) config.expert_ffn = require_int("feed_forward_length");

  switch (config.arch) {
    case Arch::kMixtral:
      config.router.renormalize = true;
      config.rope_style = kernels::RopeStyle::kInterleaved;  // q/k rows permuted by the converter
      break;
    case Arch::kQwen2Moe:
      config.router.renormalize = false;
      config.shared_expert_ffn = optional_int("expert_shared_feed_forward_length").value_or(0);
      config.qkv_bias = true;
      break;
    case Arch::kQwen3Moe:
      config.router.renormalize = true;
      config.qk_norm = QkNorm::kPerHead;
      break;
    case Arch::kOlmoe:
      config.router.renormalize = false;
      config.qk_norm = QkNorm::kWhole;
      if (const auto clip = meta.get_float(prefix + "attention.clamp_kqv")) config.clip_qkv = static_cast<float>(*clip);
      break;
  }
  if (const auto norm = meta.get_bool(prefix + "expert_weights_norm")) config.router.renormalize = *norm;
  const auto tokens = meta.get_string_array("tokenizer.ggml.tokens");
  config.vocab_size = optional_int("vocab_size").value_or(tokens ? static_cast<int64_t>(tokens->size()) : 0);
  try {
    config.validate();
  } catch (const ConfigError& error) {
    throw ConfigError(detail::concat(source, ": ", error.what()));
  }
  return config;
}

void config_to_gguf(const ModelConfig& config, io::GgufMetadata& meta) {
  const std::string arch = gguf_arch_name(config.arch);
  const std::string prefix = arch + ".";
  meta.set_string("general.architecture", arch);
  meta.set_int(prefix + "vocab_size", config.vocab_size);
  meta.set_int(prefix + "context_length", config.max_positions);
  meta.set_int(prefix + "embedding_length", config.hidden_size);
  meta.set_int(prefix + "block_count", config.n_layers);
  meta.set_int(prefix + "feed_forward_length", config.expert_ffn);
  meta.set_int(prefix + "attention.head_count", config.n_heads);
  meta.set_int(prefix + "attention.head_count_kv", config.n_kv_heads);
  meta.set_int(prefix + "attention.key_length", config.head_dim);
  meta.set_int(prefix + "attention.value_length", config.head_dim);
  meta.set_int(prefix + "rope.dimension_count", config.head_dim);
  meta.set_float(prefix + "rope.freq_base", config.rope_theta);
  meta.set_float(prefix + "attention.layer_norm_rms_epsilon", config.rms_eps);
  meta.set_int(prefix + "expert_count", config.router.n_experts);
  meta.set_int(prefix + "expert_used_count", config.router.top_k);
  meta.set_int(prefix + "expert_feed_forward_length", config.expert_ffn);
  if (config.shared_expert_ffn > 0)
    meta.set_int(prefix + "expert_shared_feed_forward_length", config.shared_expert_ffn);
  if (config.clip_qkv) meta.set_float(prefix + "attention.clamp_kqv", *config.clip_qkv);
}

}  // namespace moe::model
