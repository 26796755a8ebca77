// ModelConfig <-> HF config.json (the published models' keys) and GGUF metadata (llama.cpp's keys):
// the keys every architecture shares are read here, the rest by the architecture's table.
#include "model/model_config.h"

#include <cmath>
#include <limits>
#include <string_view>

#include "core/error.h"
#include "core/printable.h"
#include "model/arch/arch_table.h"

namespace moe::model {

namespace {

std::string supported(const char* ArchTable::*name) {
  std::string list;
  for (const ArchTable* table : arch_tables()) list += std::string(list.empty() ? "" : ", ") + table->*name;
  return list;
}

const ArchTable& find_arch(const std::string& value, const char* ArchTable::*name, const std::string& source,
                           const char* what) {
  for (const ArchTable* table : arch_tables())
    if (value == table->*name) return *table;
  throw ConfigError(detail::concat(source, ": unknown architecture ", what, "'", printable(value),
                                   "' (supported: ", supported(name), ")"));
}

// The layers' spec from the shared keys: GQA attention with a head_dim-derived scale, a softmax
// router over top_k experts, then the architecture's traits. Its table adds its own keys.
LayerSpec common_layer(const ArchTable& arch, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t top_k) {
  LayerSpec layer;
  layer.attention.n_heads = n_heads;
  layer.attention.n_kv_heads = n_kv_heads;
  layer.attention.head_dim = head_dim;
  layer.attention.head_dim_v = head_dim;
  layer.attention.scale = head_dim > 0 ? 1.0f / std::sqrt(static_cast<float>(head_dim)) : 0.0f;
  layer.ffn.router.top_k = top_k;
  arch.traits(layer);
  return layer;
}

// Bounds of sizes: token ids and GEMM extents are int32; layers and experts bound what is
// allocated per layer and expert before a tensor is read (no published model comes near).
constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxLayers = 1 << 16;
constexpr int64_t kMaxExperts = 1 << 16;

void check_size(const char* key, int64_t value, int64_t min, int64_t max) {
  MOE_CHECK(value >= min && value <= max, ConfigError, key, ": must be in [", min, ", ", max, "], got ", value);
}

// The layer count, checked before a spec per layer is allocated.
int64_t layer_count(int64_t n_layers, const std::string& key, const std::string& source) {
  MOE_CHECK(n_layers >= 1 && n_layers <= kMaxLayers, ConfigError, source, ": ", key, ": must be in [1, ", kMaxLayers,
            "], got ", n_layers);
  return n_layers;
}

// Keys that change the computation in HF's models and that moe.cpp does not implement: refused by
// name rather than ignored.
void check_unsupported_hf_keys(const HfKeys& keys, const ArchTable& arch) {
  // Every architecture here has SwiGLU experts; HF's ACT2FN maps "silu" and "swish" to SiLU.
  const auto act = keys.get<std::string>("hidden_act", "silu");
  MOE_CHECK(act == "silu" || act == "swish", ConfigError, keys.source(), ": hidden_act ",
            HfKeys::quote(nlohmann::json(act)), " is not supported (silu only)");
  MOE_CHECK(arch.hf_rope_scaling || !keys.has("rope_scaling"), ConfigError, keys.source(),
            ": rope_scaling is not supported (only plain RoPE; remove it or set it to null)");
  MOE_CHECK(!keys.get<bool>("use_sliding_window", false, HfKeys::NullIs::kUnset), ConfigError, keys.source(),
            ": use_sliding_window: sliding-window attention is not supported");
}

// bos_token_id and eos_token_id (the tokenizer's own special ids are the ones used): null, or ids in
// the vocabulary (eos may list several).
void check_special_ids(const HfKeys& keys, int64_t vocab_size) {
  for (const char* key : {"bos_token_id", "eos_token_id"}) {
    if (!keys.has(key)) continue;
    const bool list = std::string_view(key) == "eos_token_id" && keys.is_array(key);
    const std::vector<int64_t> ids = list ? keys.get<std::vector<int64_t>>(key) : std::vector{keys.get<int64_t>(key)};
    MOE_CHECK(!ids.empty(), ConfigError, keys.source(), ": ", key, ": an empty list (give an id or null)");
    for (int64_t id : ids)
      MOE_CHECK(id >= 0 && id < vocab_size, ConfigError, keys.source(), ": ", key, ": ", id,
                " is outside the vocabulary of vocab_size = ", vocab_size);
  }
}

void validate_with_source(const ModelConfig& config, const std::string& source) {
  try {
    config.validate();
  } catch (const ConfigError& error) {
    throw ConfigError(detail::concat(source, ": ", error.what()));
  }
}

}  // namespace

const char* arch_name(Arch arch) { return arch_table(arch).name; }
const char* hf_model_type(Arch arch) { return arch_table(arch).hf_model_type; }
const char* gguf_arch_name(Arch arch) { return arch_table(arch).gguf_arch; }

std::vector<LayerSpec> uniform_layers(int64_t n_layers, const LayerSpec& layer) {
  return std::vector<LayerSpec>(static_cast<size_t>(std::max<int64_t>(0, n_layers)), layer);
}

const FfnSpec& ModelConfig::moe() const {
  for (const LayerSpec& layer : layers)
    if (layer.ffn.is_moe()) return layer.ffn;
  throw ConfigError("the model has no MoE layer");
}

void ModelConfig::validate() const {
  check_size("vocab_size", vocab_size, 1, kMaxDim);
  check_size("hidden_size", hidden_size, 1, kMaxDim);
  check_size("num_hidden_layers", n_layers(), 1, kMaxLayers);
  check_size("max_position_embeddings", max_positions, 1, std::numeric_limits<int64_t>::max());
  MOE_CHECK(rms_eps > 0 && rms_eps < 1, ConfigError, "rms_norm_eps: must be in (0, 1), got ", rms_eps);
  MOE_CHECK(std::isfinite(rope_theta) && rope_theta > 0, ConfigError, "rope_theta: must be > 0, got ", rope_theta);
  MOE_CHECK(!rope_scaling || layers.empty() || layers.front().attention.kind == AttentionKind::kMla, ConfigError,
            "rope_scaling: only MLA layers support it");
  moe();  // at least one MoE layer
  for (int64_t i = 0; i < n_layers(); ++i) {
    const AttentionSpec& a = layers[i].attention;
    const FfnSpec& f = layers[i].ffn;
    check_size("num_attention_heads", a.n_heads, 1, kMaxDim);
    MOE_CHECK(a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0, ConfigError, "num_key_value_heads: ", a.n_kv_heads,
              " must divide num_attention_heads = ", a.n_heads);
    check_size("head_dim", a.head_dim, 2, kMaxDim);
    MOE_CHECK(a.head_dim % 2 == 0, ConfigError, "head_dim: must be even, got ", a.head_dim);
    check_size("v_head_dim", a.head_dim_v, 1, kMaxDim);
    MOE_CHECK(a.scale > 0, ConfigError, "layer ", i, ": attention scale must be > 0");
    MOE_CHECK(!a.clip_qkv || (std::isfinite(*a.clip_qkv) && *a.clip_qkv > 0), ConfigError,
              "clip_qkv: must be > 0 (or null), got ", *a.clip_qkv);
    if (a.kind == AttentionKind::kMla) {
      check_size("kv_lora_rank", a.kv_lora_rank, 1, kMaxDim);
      check_size("q_lora_rank", a.q_lora_rank, 0, kMaxDim);
      MOE_CHECK(a.rope_dim >= 2 && a.rope_dim % 2 == 0 && a.rope_dim < a.head_dim, ConfigError,
                "qk_rope_head_dim: must be even, >= 2 and leave qk_nope_head_dim >= 1, got ", a.rope_dim);
      MOE_CHECK(a.n_kv_heads == a.n_heads, ConfigError, "layer ", i, ": MLA has one k and v per head");
      MOE_CHECK(a.q_lora_rank == attention().q_lora_rank && a.kv_lora_rank == attention().kv_lora_rank &&
                    a.rope_dim == attention().rope_dim && a.kind == attention().kind,
                ConfigError, "layer ", i, ": MLA ranks differ from layer 0's");
    }
    // One KV cache geometry and one split of heads over ranks for the whole model.
    MOE_CHECK(a.n_heads == attention().n_heads && a.n_kv_heads == attention().n_kv_heads &&
                  a.head_dim == attention().head_dim && a.head_dim_v == attention().head_dim_v,
              ConfigError, "layer ", i, ": attention heads or head dims differ from layer 0's");
    if (f.is_moe()) {
      check_size("moe_intermediate_size", f.expert_ffn, 1, kMaxDim);
      check_size("shared_expert_intermediate_size", f.shared_expert_ffn, 0, kMaxDim);
      check_size("num_experts", f.router.n_experts, 1, kMaxExperts);
      f.router.validate();
      // Statistics, placements and expert shards are model-wide.
      MOE_CHECK(f.router.n_experts == n_experts() && f.expert_ffn == moe().expert_ffn &&
                    f.shared_expert_ffn == moe().shared_expert_ffn,
                ConfigError, "layer ", i, ": experts or expert sizes differ from the first MoE layer's");
    } else {
      MOE_CHECK(f.dense_ffn > 0 && f.dense_ffn <= kMaxDim, ConfigError, "intermediate_size: layer ", i,
                " is dense and needs it in [1, ", kMaxDim, "], got ", f.dense_ffn);
    }
  }
}

ModelConfig config_from_hf(const nlohmann::json& json, const std::string& source) {
  MOE_CHECK(json.is_object(), ConfigError, source, ": not a JSON object");
  HfKeys keys(json, source);
  const ArchTable& arch =
      find_arch(keys.get<std::string>("model_type"), &ArchTable::hf_model_type, source, "model_type ");
  ModelConfig config;
  config.arch = arch.arch;
  config.vocab_size = keys.get<int64_t>("vocab_size");
  config.hidden_size = keys.get<int64_t>("hidden_size");
  const auto n_heads = keys.get<int64_t>("num_attention_heads");
  MOE_CHECK(n_heads > 0, ConfigError, source, ": num_attention_heads must be > 0");
  // HF's configs: null (or absent) num_key_value_heads means MHA, null head_dim hidden / heads.
  const auto n_kv_heads = keys.get<int64_t>("num_key_value_heads", n_heads, HfKeys::NullIs::kUnset);
  const auto head_dim = keys.get<int64_t>("head_dim", config.hidden_size / n_heads, HfKeys::NullIs::kUnset);
  LayerSpec layer = common_layer(arch, n_heads, n_kv_heads, head_dim, keys.get<int64_t>("num_experts_per_tok"));
  config.max_positions = keys.get<int64_t>("max_position_embeddings", 4096);
  config.rms_eps = keys.get<float>("rms_norm_eps", 1e-6f);
  config.rope_theta = keys.get<double>("rope_theta", 10000.0);
  config.tie_embeddings = keys.get<bool>("tie_word_embeddings", false);
  check_unsupported_hf_keys(keys, arch);
  arch.read_hf(keys, config, layer);
  config.layers =
      uniform_layers(layer_count(keys.get<int64_t>("num_hidden_layers"), "num_hidden_layers", source), layer);
  if (arch.read_hf_layers != nullptr) arch.read_hf_layers(keys, config);
  validate_with_source(config, source);
  check_special_ids(keys, config.vocab_size);
  return config;
}

nlohmann::json config_to_hf(const ModelConfig& config) {
  const ArchTable& arch = arch_table(config.arch);
  const AttentionSpec& attention = config.attention();
  nlohmann::json json;
  json["architectures"] = {arch.hf_architecture};
  json["model_type"] = arch.hf_model_type;
  json["vocab_size"] = config.vocab_size;
  json["hidden_size"] = config.hidden_size;
  json["num_hidden_layers"] = config.n_layers();
  json["num_attention_heads"] = attention.n_heads;
  json["num_key_value_heads"] = attention.n_kv_heads;
  json["head_dim"] = attention.head_dim;
  json["max_position_embeddings"] = config.max_positions;
  json["rms_norm_eps"] = config.rms_eps;
  json["rope_theta"] = config.rope_theta;
  json["tie_word_embeddings"] = config.tie_embeddings;
  json["num_experts_per_tok"] = config.moe().router.top_k;
  json["hidden_act"] = "silu";
  json["torch_dtype"] = "float32";
  arch.write_hf(config, json);
  return json;
}

ModelConfig config_from_gguf(const io::GgufMetadata& meta, const std::string& source) {
  const auto arch_value = meta.get_string("general.architecture");
  MOE_CHECK(arch_value.has_value(), FormatError, source, ": missing key 'general.architecture'");
  const ArchTable& arch = find_arch(*arch_value, &ArchTable::gguf_arch, source, "");
  MOE_CHECK(arch.gguf_supported, FormatError, source, ": GGUF architecture '", *arch_value,
            "' is not supported yet (read the HF checkpoint)");
  const GgufKeys keys(meta, *arch_value, source);
  ModelConfig config;
  config.arch = arch.arch;
  config.hidden_size = keys.require_int("embedding_length");
  const int64_t n_heads = keys.require_int("attention.head_count");
  MOE_CHECK(n_heads > 0, FormatError, source, ": ", keys.prefix(), "attention.head_count must be > 0");
  const int64_t n_kv_heads = keys.get_int("attention.head_count_kv").value_or(n_heads);
  const int64_t head_dim = keys.get_int("attention.key_length").value_or(config.hidden_size / n_heads);
  const auto n_experts = keys.get_int("expert_count");
  MOE_CHECK(n_experts.has_value() && *n_experts > 0, ConfigError, source, ": a model without experts (", keys.prefix(),
            "expert_count) is not an MoE model");
  LayerSpec layer = common_layer(arch, n_heads, n_kv_heads, head_dim, keys.require_int("expert_used_count"));
  layer.attention.head_dim_v = keys.get_int("attention.value_length").value_or(head_dim);
  layer.ffn.router.n_experts = *n_experts;
  layer.ffn.expert_ffn = keys.get_int("expert_feed_forward_length").value_or(0);
  if (layer.ffn.expert_ffn == 0) layer.ffn.expert_ffn = keys.require_int("feed_forward_length");
  config.max_positions = keys.get_int("context_length").value_or(4096);
  config.rms_eps = static_cast<float>(keys.get_float("attention.layer_norm_rms_epsilon").value_or(1e-5));
  config.rope_theta = keys.get_float("rope.freq_base").value_or(10000.0);
  if (arch.read_gguf != nullptr) arch.read_gguf(keys, config, layer);
  if (const auto norm = keys.get_bool("expert_weights_norm")) layer.ffn.router.renormalize = *norm;
  config.layers =
      uniform_layers(layer_count(keys.require_int("block_count"), keys.prefix() + "block_count", source), layer);
  // read_gguf may have chosen another table of the same GGUF architecture (deepseek2: V2 or V3).
  const ArchTable& chosen = arch_table(config.arch);
  if (chosen.read_gguf_layers != nullptr) chosen.read_gguf_layers(keys, config);
  const auto tokens = meta.get_string_array("tokenizer.ggml.tokens");
  config.vocab_size = keys.get_int("vocab_size").value_or(tokens ? static_cast<int64_t>(tokens->size()) : 0);
  validate_with_source(config, source);
  return config;
}

void config_to_gguf(const ModelConfig& config, io::GgufMetadata& meta) {
  const std::string arch = gguf_arch_name(config.arch);
  MOE_CHECK(arch_table(config.arch).gguf_supported, FormatError, "GGUF: architecture ", arch_name(config.arch),
            " cannot be written as GGUF yet (write an HF directory)");
  const std::string prefix = arch + ".";
  const AttentionSpec& attention = config.attention();
  const FfnSpec& moe = config.moe();
  meta.set_string("general.architecture", arch);
  meta.set_int(prefix + "vocab_size", config.vocab_size);
  meta.set_int(prefix + "context_length", config.max_positions);
  meta.set_int(prefix + "embedding_length", config.hidden_size);
  meta.set_int(prefix + "block_count", config.n_layers());
  meta.set_int(prefix + "feed_forward_length", moe.expert_ffn);
  meta.set_int(prefix + "attention.head_count", attention.n_heads);
  meta.set_int(prefix + "attention.head_count_kv", attention.n_kv_heads);
  meta.set_int(prefix + "attention.key_length", attention.head_dim);
  meta.set_int(prefix + "attention.value_length", attention.head_dim_v);
  meta.set_int(prefix + "rope.dimension_count", attention.head_dim);
  meta.set_float(prefix + "rope.freq_base", config.rope_theta);
  meta.set_float(prefix + "attention.layer_norm_rms_epsilon", config.rms_eps);
  meta.set_int(prefix + "expert_count", moe.router.n_experts);
  meta.set_int(prefix + "expert_used_count", moe.router.top_k);
  meta.set_int(prefix + "expert_feed_forward_length", moe.expert_ffn);
  if (moe.shared_expert_ffn > 0) meta.set_int(prefix + "expert_shared_feed_forward_length", moe.shared_expert_ffn);
  if (attention.clip_qkv) meta.set_float(prefix + "attention.clamp_kqv", *attention.clip_qkv);
  if (arch_table(config.arch).write_gguf != nullptr) arch_table(config.arch).write_gguf(config, meta);
}

}  // namespace moe::model
