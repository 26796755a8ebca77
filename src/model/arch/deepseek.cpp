// DeepSeek-V2 / V2-Lite (deepseek_v2) and DeepSeek-V3 / R1 (deepseek_v3), as their published
// modeling_deepseek.py computes them: multi-head latent attention (q_lora_rank null: a plain
// q_proj), YaRN rope_scaling with mscale, the first first_k_dense_replace layers (and those off
// moe_layer_freq) dense, n_shared_experts ungated shared experts. V3 routes by sigmoid scores with
// the e_score_correction_bias tensor for selection and group scores of the top-2 biased scores
// (noaux_tc), weights normalised (norm_topk_prob) and always times routed_scaling_factor; V2 by
// softmax, greedy or group_limited_greedy (group score: max), routed_scaling_factor only when not
// normalised. The MTP layers (num_nextn_predict_layers) are not read.
// GGUF: llama.cpp's deepseek2 keys and tensors, both kv_b layouts read (weights.cpp joins the
// split attn_k_b / attn_v_b), the attn_kv_b one written.
#include "model/arch/arch_table.h"
#include "model/arch/preset_chat_templates.h"
#include "model/mla.h"

namespace moe::model {
namespace {

void traits(LayerSpec& layer) {
  layer.attention.kind = AttentionKind::kMla;
  layer.ffn.shared_gate = SharedExpertGate::kNone;
}

// rope_scaling: null or {"type": "yarn", factor, original_max_position_embeddings, beta_fast,
// beta_slow, mscale, mscale_all_dim} (HF's defaults for the absent ones).
std::optional<YarnScaling> read_rope_scaling(const HfKeys& keys) {
  if (!keys.has("rope_scaling")) return std::nullopt;
  const nlohmann::json& json = keys.json()["rope_scaling"];
  const std::string source = keys.source() + ": rope_scaling";
  MOE_CHECK(json.is_object(), ConfigError, source, " must be an object or null, got ", HfKeys::quote(json));
  const HfKeys scaling(json, source);
  const std::string type = scaling.get<std::string>("type", scaling.get<std::string>("rope_type", ""));
  MOE_CHECK(type == "yarn", ConfigError, source, ": type ", HfKeys::quote(nlohmann::json(type)),
            " is not supported (yarn only)");
  YarnScaling yarn;
  yarn.factor = scaling.get<double>("factor");
  MOE_CHECK(yarn.factor >= 1, ConfigError, source, ": factor must be >= 1, got ", yarn.factor);
  yarn.original_max_positions = scaling.get<int64_t>("original_max_position_embeddings", 4096);
  MOE_CHECK(yarn.original_max_positions >= 1, ConfigError, source, ": original_max_position_embeddings must be >= 1");
  yarn.beta_fast = scaling.get<double>("beta_fast", 32.0);
  yarn.beta_slow = scaling.get<double>("beta_slow", 1.0);
  MOE_CHECK(yarn.beta_fast > 0 && yarn.beta_slow > 0, ConfigError, source, ": beta_fast and beta_slow must be > 0");
  yarn.mscale = scaling.get<double>("mscale", 1.0);
  yarn.mscale_all_dim = scaling.get<double>("mscale_all_dim", 0.0);
  return yarn;
}

void write_rope_scaling(const ModelConfig& config, nlohmann::json& json) {
  if (!config.rope_scaling) {
    json["rope_scaling"] = nullptr;
    return;
  }
  const YarnScaling& y = *config.rope_scaling;
  json["rope_scaling"] = {{"type", "yarn"},
                          {"factor", y.factor},
                          {"original_max_position_embeddings", y.original_max_positions},
                          {"beta_fast", y.beta_fast},
                          {"beta_slow", y.beta_slow},
                          {"mscale", y.mscale},
                          {"mscale_all_dim", y.mscale_all_dim}};
}

// The keys both versions share: attention, experts, rope_scaling.
void read_common(const HfKeys& keys, ModelConfig& config, LayerSpec& layer) {
  MOE_CHECK(!keys.get<bool>("attention_bias", false), ConfigError, keys.source(),
            ": attention_bias true is not supported (MLA projections without biases)");
  AttentionSpec& a = layer.attention;
  a.n_kv_heads = a.n_heads;  // every head has its own k and v, decompressed from the shared latent
  a.q_lora_rank = keys.get<int64_t>("q_lora_rank", 0, HfKeys::NullIs::kUnset);
  MOE_CHECK(a.q_lora_rank >= 0, ConfigError, keys.source(), ": q_lora_rank must be >= 1 or null, got ", a.q_lora_rank);
  MOE_CHECK(!keys.has("q_lora_rank") || a.q_lora_rank >= 1, ConfigError, keys.source(),
            ": q_lora_rank must be >= 1 or null, got 0");
  a.kv_lora_rank = keys.get<int64_t>("kv_lora_rank");
  const auto nope = keys.get<int64_t>("qk_nope_head_dim");
  a.rope_dim = keys.get<int64_t>("qk_rope_head_dim");
  a.head_dim_v = keys.get<int64_t>("v_head_dim");
  MOE_CHECK(nope >= 1 && nope <= (int64_t{1} << 20), ConfigError, keys.source(),
            ": qk_nope_head_dim must be in [1, 2^20], got ", nope);
  MOE_CHECK(a.rope_dim >= 2 && a.rope_dim <= (int64_t{1} << 20) && a.rope_dim % 2 == 0, ConfigError, keys.source(),
            ": qk_rope_head_dim must be even and in [2, 2^20], got ", a.rope_dim);
  a.head_dim = nope + a.rope_dim;
  config.rope_scaling = read_rope_scaling(keys);
  a.scale = mla_softmax_scale(a.head_dim, config.rope_scaling);

  FfnSpec& f = layer.ffn;
  f.expert_ffn = keys.get<int64_t>("moe_intermediate_size");
  f.router.n_experts = keys.get<int64_t>("n_routed_experts");
  MOE_CHECK(f.router.n_experts >= 1 && f.router.n_experts <= 65536, ConfigError, keys.source(),
            ": n_routed_experts must be in [1, 65536], got ", f.router.n_experts);
  const auto n_shared = keys.get<int64_t>("n_shared_experts", 0, HfKeys::NullIs::kUnset);
  MOE_CHECK(n_shared >= 0 && n_shared <= 1024, ConfigError, keys.source(),
            ": n_shared_experts must be in [0, 1024], got ", n_shared);
  f.shared_expert_ffn = n_shared * f.expert_ffn;
  // HF normalises only when top_k > 1.
  f.router.renormalize = keys.get<bool>("norm_topk_prob", false) && f.router.top_k > 1;
}

// Layers before first_k_dense_replace, and those off moe_layer_freq, are dense SwiGLU FFNs of
// intermediate_size (DeepseekV3DecoderLayer).
void read_layers(const HfKeys& keys, ModelConfig& config) {
  const auto first_dense = keys.get<int64_t>("first_k_dense_replace", 0);
  const auto freq = keys.get<int64_t>("moe_layer_freq", 1);
  MOE_CHECK(first_dense >= 0, ConfigError, keys.source(), ": first_k_dense_replace must be >= 0, got ", first_dense);
  MOE_CHECK(freq >= 1, ConfigError, keys.source(), ": moe_layer_freq must be >= 1, got ", freq);
  bool any_dense = false, any_moe = false;
  for (int64_t i = 0; i < config.n_layers(); ++i) {
    any_moe = any_moe || (i >= first_dense && i % freq == 0);
    if (i < first_dense || i % freq != 0) {
      any_dense = true;
      config.layers[i].ffn = FfnSpec();
      config.layers[i].ffn.kind = FfnKind::kDense;
    }
  }
  MOE_CHECK(any_moe, ConfigError, keys.source(), ": first_k_dense_replace = ", first_dense,
            " and moe_layer_freq = ", freq, " leave no MoE layer among num_hidden_layers = ", config.n_layers());
  if (!any_dense) return;
  const auto dense_ffn = keys.get<int64_t>("intermediate_size");
  for (LayerSpec& layer : config.layers)
    if (!layer.ffn.is_moe()) layer.ffn.dense_ffn = dense_ffn;
}

void write_common(const ModelConfig& config, nlohmann::json& json) {
  const AttentionSpec& a = config.attention();
  const FfnSpec& moe = config.moe();
  json["q_lora_rank"] = a.q_lora_rank > 0 ? nlohmann::json(a.q_lora_rank) : nlohmann::json();
  json["kv_lora_rank"] = a.kv_lora_rank;
  json["qk_nope_head_dim"] = a.nope_dim();
  json["qk_rope_head_dim"] = a.rope_dim;
  json["v_head_dim"] = a.head_dim_v;
  json.erase("head_dim");
  json["attention_bias"] = false;
  json["moe_intermediate_size"] = moe.expert_ffn;
  json["n_routed_experts"] = config.n_experts();
  json["n_shared_experts"] = moe.shared_expert_ffn / moe.expert_ffn;
  json["norm_topk_prob"] = moe.router.renormalize;
  json["n_group"] = moe.router.n_groups;
  json["topk_group"] = moe.router.topk_groups;
  int64_t first_dense = 0;
  while (!config.layers[first_dense].ffn.is_moe()) ++first_dense;
  json["first_k_dense_replace"] = first_dense;
  json["moe_layer_freq"] = 1;
  json["intermediate_size"] = first_dense > 0 ? config.layers[0].ffn.dense_ffn : moe.expert_ffn;
  json["num_nextn_predict_layers"] = 0;
  write_rope_scaling(config, json);
}

// The layer pattern config_to_hf can write: dense layers first, then MoE layers.
void check_writable(const ModelConfig& config) {
  bool seen_moe = false;
  for (const LayerSpec& layer : config.layers) {
    MOE_CHECK(!seen_moe || layer.ffn.is_moe(), ConfigError,
              "a dense layer after an MoE layer cannot be written as first_k_dense_replace");
    seen_moe = seen_moe || layer.ffn.is_moe();
  }
  MOE_CHECK(config.moe().shared_expert_ffn % config.moe().expert_ffn == 0, ConfigError,
            "the shared experts' size is not a multiple of moe_intermediate_size");
}

void read_hf_v3(const HfKeys& keys, ModelConfig& config, LayerSpec& layer) {
  read_common(keys, config, layer);
  const auto scoring = keys.get<std::string>("scoring_func", "sigmoid");
  MOE_CHECK(scoring == "sigmoid", ConfigError, keys.source(), ": scoring_func ", HfKeys::quote(nlohmann::json(scoring)),
            " is not supported for deepseek_v3 (sigmoid)");
  const auto method = keys.get<std::string>("topk_method", "noaux_tc");
  MOE_CHECK(method == "noaux_tc", ConfigError, keys.source(), ": topk_method ", HfKeys::quote(nlohmann::json(method)),
            " is not supported for deepseek_v3 (noaux_tc)");
  RouterConfig& r = layer.ffn.router;
  r.score_function = ScoreFunction::kSigmoid;
  r.n_groups = keys.get<int64_t>("n_group", 1);
  r.topk_groups = keys.get<int64_t>("topk_group", 1);
  r.routed_scaling_factor = keys.get<float>("routed_scaling_factor", 1.0f);
  MOE_CHECK(r.routed_scaling_factor > 0, ConfigError, keys.source(), ": routed_scaling_factor must be > 0, got ",
            r.routed_scaling_factor);
  layer.ffn.router_bias_tensor = true;
}

void write_hf_v3(const ModelConfig& config, nlohmann::json& json) {
  check_writable(config);
  write_common(config, json);
  json["scoring_func"] = "sigmoid";
  json["topk_method"] = "noaux_tc";
  json["routed_scaling_factor"] = config.moe().router.routed_scaling_factor;
}

void read_hf_v2(const HfKeys& keys, ModelConfig& config, LayerSpec& layer) {
  read_common(keys, config, layer);
  const auto scoring = keys.get<std::string>("scoring_func", "softmax");
  MOE_CHECK(scoring == "softmax", ConfigError, keys.source(), ": scoring_func ", HfKeys::quote(nlohmann::json(scoring)),
            " is not supported for deepseek_v2 (softmax)");
  const auto method = keys.get<std::string>("topk_method", "greedy");
  MOE_CHECK(method == "greedy" || method == "group_limited_greedy", ConfigError, keys.source(), ": topk_method ",
            HfKeys::quote(nlohmann::json(method)), " is not supported for deepseek_v2 (greedy, group_limited_greedy)");
  RouterConfig& r = layer.ffn.router;
  r.score_function = ScoreFunction::kSoftmax;
  if (method == "group_limited_greedy") {
    r.n_groups = keys.get<int64_t>("n_group");
    r.topk_groups = keys.get<int64_t>("topk_group");
  }
  const auto factor = keys.get<float>("routed_scaling_factor", 1.0f);
  MOE_CHECK(factor > 0, ConfigError, keys.source(), ": routed_scaling_factor must be > 0, got ", factor);
  // DeepseekV2's MoEGate scales only the weights it does not normalise.
  r.routed_scaling_factor = r.renormalize ? 1.0f : factor;
}

void write_hf_v2(const ModelConfig& config, nlohmann::json& json) {
  check_writable(config);
  write_common(config, json);
  const RouterConfig& r = config.moe().router;
  json["scoring_func"] = "softmax";
  json["topk_method"] = r.n_groups > 1 ? "group_limited_greedy" : "greedy";
  json["routed_scaling_factor"] = r.routed_scaling_factor;
}

// llama.cpp's deepseek2 GGUF keys (its src/models/deepseek2.cpp and convert_hf_to_gguf.py's
// DeepseekV2Model). The converter writes no rope permutation: q_pe / k_pe rows stay as in HF.
// expert_gating_func 2 (sigmoid) is V3 (noaux_tc, exp_probs_b), 1 or absent (softmax) V2. Groups
// score as HF does (V3: top-2 sum, V2: max), where llama.cpp always sums the top 2.
constexpr int64_t kGatingSoftmax = 1, kGatingSigmoid = 2;
constexpr double kYarnLogMulScale = 0.1;  // the converter writes 0.1 * mscale_all_dim

void read_gguf(const GgufKeys& keys, ModelConfig& config, LayerSpec& layer) {
  const std::string& source = keys.source();
  const std::string& p = keys.prefix();
  AttentionSpec& a = layer.attention;
  a.n_kv_heads = a.n_heads;
  a.q_lora_rank = keys.get_int("attention.q_lora_rank").value_or(0);
  MOE_CHECK(a.q_lora_rank >= 0, FormatError, source, ": ", p, "attention.q_lora_rank must be >= 0");
  a.kv_lora_rank = keys.require_int("attention.kv_lora_rank");
  MOE_CHECK(a.kv_lora_rank >= 1, FormatError, source, ": ", p, "attention.kv_lora_rank must be >= 1");
  a.rope_dim = keys.require_int("rope.dimension_count");
  // The split layout (attn_k_b / attn_v_b, head_count_kv 1) gives the per-head sizes in the _mla
  // keys (key_length and value_length are then the latent's); the attn_kv_b layout in the plain ones.
  if (const auto k_mla = keys.get_int("attention.key_length_mla")) {
    a.head_dim = *k_mla;
    a.head_dim_v = keys.require_int("attention.value_length_mla");
  }
  MOE_CHECK(a.rope_dim >= 2 && a.rope_dim % 2 == 0 && a.rope_dim < a.head_dim, FormatError, source, ": ", p,
            "rope.dimension_count must be even and in [2, key_length), got ", a.rope_dim, " (key length ", a.head_dim,
            ")");
  if (keys.meta().has(p + "rope.scaling.type")) {
    const auto type = keys.meta().get_string(p + "rope.scaling.type");
    MOE_CHECK(type == "yarn" || type == "none", FormatError, source, ": ", p, "rope.scaling.type '", *type,
              "' is not supported (yarn only)");
    if (type == "yarn") {
      YarnScaling yarn;
      yarn.factor = keys.get_float("rope.scaling.factor").value_or(1.0);
      MOE_CHECK(yarn.factor >= 1, FormatError, source, ": ", p, "rope.scaling.factor must be >= 1, got ", yarn.factor);
      yarn.original_max_positions = keys.get_int("rope.scaling.original_context_length").value_or(4096);
      MOE_CHECK(yarn.original_max_positions >= 1, FormatError, source, ": ", p,
                "rope.scaling.original_context_length must be >= 1");
      yarn.beta_fast = keys.get_float("rope.scaling.yarn_beta_fast").value_or(32.0);
      yarn.beta_slow = keys.get_float("rope.scaling.yarn_beta_slow").value_or(1.0);
      MOE_CHECK(yarn.beta_fast > 0 && yarn.beta_slow > 0, FormatError, source, ": ", p,
                "rope.scaling.yarn_beta_fast and yarn_beta_slow must be > 0");
      // GGUF holds one mscale (llama.cpp scales cos/sin by none): HF's mscale = mscale_all_dim,
      // as every published DeepSeek config has it.
      // Divided in float as llama.cpp does: 0.1f / 0.1f is 1 exactly.
      yarn.mscale_all_dim = static_cast<float>(keys.get_float("rope.scaling.yarn_log_multiplier").value_or(0.0)) /
                            static_cast<float>(kYarnLogMulScale);
      yarn.mscale = yarn.mscale_all_dim;
      config.rope_scaling = yarn;
    }
  }
  a.scale = mla_softmax_scale(a.head_dim, config.rope_scaling);

  FfnSpec& f = layer.ffn;
  const int64_t n_shared = keys.get_int("expert_shared_count").value_or(0);
  MOE_CHECK(n_shared >= 0 && n_shared <= 1024, FormatError, source, ": ", p,
            "expert_shared_count must be in [0, 1024], got ", n_shared);
  f.shared_expert_ffn = n_shared * f.expert_ffn;
  const int64_t gating = keys.get_int("expert_gating_func").value_or(kGatingSoftmax);
  MOE_CHECK(gating == kGatingSoftmax || gating == kGatingSigmoid, FormatError, source, ": ", p, "expert_gating_func ",
            gating, " is not supported (1 softmax, 2 sigmoid)");
  RouterConfig& r = f.router;
  const bool sigmoid = gating == kGatingSigmoid;
  config.arch = sigmoid ? Arch::kDeepseekV3 : Arch::kDeepseekV2;
  r.score_function = sigmoid ? ScoreFunction::kSigmoid : ScoreFunction::kSoftmax;
  f.router_bias_tensor = sigmoid;  // exp_probs_b.bias
  r.n_groups = keys.get_int("expert_group_count").value_or(1);
  r.topk_groups = keys.get_int("expert_group_used_count").value_or(r.n_groups);
  if (r.n_groups <= 1) r.n_groups = r.topk_groups = 1;
  // llama.cpp multiplies by expert_weights_scale whether or not it normalises.
  r.routed_scaling_factor = static_cast<float>(keys.get_float("expert_weights_scale").value_or(1.0));
  MOE_CHECK(r.routed_scaling_factor > 0, FormatError, source, ": ", p, "expert_weights_scale must be > 0, got ",
            r.routed_scaling_factor);
}

// leading_dense_block_count dense layers of feed_forward_length first.
void read_gguf_layers(const GgufKeys& keys, ModelConfig& config) {
  const int64_t first_dense = keys.get_int("leading_dense_block_count").value_or(0);
  MOE_CHECK(first_dense >= 0 && first_dense < config.n_layers(), FormatError, keys.source(), ": ", keys.prefix(),
            "leading_dense_block_count must be in [0, block_count), got ", first_dense);
  if (first_dense == 0) return;
  const int64_t dense_ffn = keys.require_int("feed_forward_length");
  for (int64_t i = 0; i < first_dense; ++i) {
    config.layers[i].ffn = FfnSpec();
    config.layers[i].ffn.kind = FfnKind::kDense;
    config.layers[i].ffn.dense_ffn = dense_ffn;
  }
}

// The attn_kv_b layout (head_count_kv = head_count, key_length = qk_nope + qk_rope, no _mla keys),
// which llama.cpp still loads; the split attn_k_b / attn_v_b one is read but not written.
void write_gguf(const ModelConfig& config, io::GgufMetadata& meta) {
  check_writable(config);
  const std::string p = std::string(gguf_arch_name(config.arch)) + ".";
  const AttentionSpec& a = config.attention();
  const FfnSpec& moe = config.moe();
  const RouterConfig& r = moe.router;
  int64_t first_dense = 0;
  while (!config.layers[first_dense].ffn.is_moe()) ++first_dense;
  meta.set_int(p + "leading_dense_block_count", first_dense);
  if (first_dense > 0) meta.set_int(p + "feed_forward_length", config.layers[0].ffn.dense_ffn);
  if (a.q_lora_rank > 0) meta.set_int(p + "attention.q_lora_rank", a.q_lora_rank);
  meta.set_int(p + "attention.kv_lora_rank", a.kv_lora_rank);
  meta.set_int(p + "rope.dimension_count", a.rope_dim);
  meta.set_int(p + "expert_shared_count", moe.shared_expert_ffn / moe.expert_ffn);
  meta.set_float(p + "expert_weights_scale", r.routed_scaling_factor);
  meta.set_bool(p + "expert_weights_norm", r.renormalize);
  const bool sigmoid = r.score_function == ScoreFunction::kSigmoid;
  MOE_CHECK(sigmoid || r.score_function == ScoreFunction::kSoftmax, ConfigError,
            "GGUF deepseek2: the router's score function must be softmax or sigmoid");
  meta.set_int(p + "expert_gating_func", sigmoid ? kGatingSigmoid : kGatingSoftmax);
  if (r.n_groups > 1) {
    meta.set_int(p + "expert_group_count", r.n_groups);
    meta.set_int(p + "expert_group_used_count", r.topk_groups);
  }
  if (config.rope_scaling) {
    const YarnScaling& y = *config.rope_scaling;
    MOE_CHECK(y.mscale == y.mscale_all_dim, ConfigError, "GGUF deepseek2 holds one YaRN mscale; mscale ", y.mscale,
              " and mscale_all_dim ", y.mscale_all_dim, " differ");
    meta.set_string(p + "rope.scaling.type", "yarn");
    meta.set_float(p + "rope.scaling.factor", y.factor);
    meta.set_int(p + "rope.scaling.original_context_length", y.original_max_positions);
    meta.set_float(p + "rope.scaling.yarn_beta_fast", y.beta_fast);
    meta.set_float(p + "rope.scaling.yarn_beta_slow", y.beta_slow);
    meta.set_float(p + "rope.scaling.yarn_log_multiplier", kYarnLogMulScale * y.mscale_all_dim);
  }
}

// V2 and V3 differ in their names, their HF reading (routing keys) and V3's chat template. constexpr:
// the tables stay constant-initialised, whatever reads them at start-up.
constexpr ArchTable deepseek_table(Arch arch, const char* name, const char* hf_model_type, const char* hf_architecture,
                                   decltype(ArchTable::read_hf) read_hf, decltype(ArchTable::write_hf) write_hf,
                                   const char* chat_template) {
  return {.arch = arch,
          .name = name,
          .hf_model_type = hf_model_type,
          .hf_architecture = hf_architecture,
          .gguf_arch = "deepseek2",
          .hf_moe_block = "mlp.",
          .hf_expert_roles = {"gate_proj", "up_proj", "down_proj"},
          .gguf_interleaved_rope = false,
          .preset_spm = false,
          .preset_pre_tokenizer = "",
          .preset_chat_template = chat_template,
          .traits = traits,
          .read_hf = read_hf,
          .write_hf = write_hf,
          .read_gguf = read_gguf,
          .preset_rope_theta = 1e4,
          .hf_shared_block = "mlp.shared_experts.",
          .hf_rope_scaling = true,
          .read_hf_layers = read_layers,
          .read_gguf_layers = read_gguf_layers,
          .write_gguf = write_gguf};
}

}  // namespace

extern constexpr ArchTable kDeepseekV2Arch = deepseek_table(Arch::kDeepseekV2, "deepseek2", "deepseek_v2",
                                                            "DeepseekV2ForCausalLM", read_hf_v2, write_hf_v2, nullptr);
extern constexpr ArchTable kDeepseekV3Arch =
    deepseek_table(Arch::kDeepseekV3, "deepseek3", "deepseek_v3", "DeepseekV3ForCausalLM", read_hf_v3, write_hf_v3,
                   kDeepseekV3ChatTemplate);

}  // namespace moe::model
