// Resolving the model to train from a preset, config.json or model directory plus size keys.
#include "train/model_spec.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "io/json_file.h"
#include "model/presets.h"
#include "tokenizer/make_vocab.h"

namespace moe::train {
namespace fs = std::filesystem;
namespace {

// Applies one optional size key; with fixed weights the key may only restate the model's value.
void apply_size(const std::optional<int64_t>& key, int64_t& field, const char* name, bool fixed,
                const std::string& source) {
  if (!key) return;
  MOE_CHECK(!fixed || *key == field, ConfigError, name, ": ", *key, " differs from ", source, " (", field,
            "); a model directory fixes the shape");
  field = *key;
}

}  // namespace

TrainingStart resolve_training_start(TrainConfig& config) {
  const ModelSpec& spec = config.model;
  TrainingStart start;
  start.source = spec.model;
  const std::vector<std::string> presets = model::preset_names();
  if (std::find(presets.begin(), presets.end(), spec.model) != presets.end()) {
    start.config = model::preset_config(spec.model);
    start.vocab = model::preset_vocab(spec.model);  // the weights come from init_random
  } else if (fs::is_directory(spec.model)) {
    start.weights = model::load_model(spec.model);
    start.config = start.weights->config;
    start.vocab = start.weights->vocab;
  } else {
    MOE_CHECK(
        fs::exists(spec.model), ConfigError, "model: '", spec.model, "' is neither a preset (",
        [&] {
          std::string names;
          for (const auto& n : presets) names += (names.empty() ? "" : ", ") + n;
          return names;
        }(),
        "), a config.json nor a model directory");
    start.config = model::config_from_hf(io::read_json_file(spec.model), spec.model);
    MOE_CHECK(!spec.tokenizer.empty(), ConfigError, "tokenizer: required with model: ", spec.model,
              " (a config.json has no vocabulary)");
  }
  if (!spec.tokenizer.empty()) {
    start.vocab = model::load_model(spec.tokenizer).vocab;
    start.config.vocab_size = static_cast<int64_t>(start.vocab.tokens.size());
  }

  model::ModelConfig& c = start.config;
  for (const model::LayerSpec& spec_layer : c.layers)
    MOE_CHECK(
        spec_layer.attention.kind == model::AttentionKind::kGqa && spec_layer.ffn.is_moe(), ConfigError,
        "model: ", model::arch_name(c.arch),
        " (multi-head latent attention, dense layers) is not supported by training yet; it runs in inference only");
  const bool fixed = start.weights.has_value();
  // Megatron's size keys describe a uniform model: they apply to every layer.
  model::LayerSpec layer = c.layers.front();
  model::AttentionSpec& a = layer.attention;
  model::FfnSpec& f = layer.ffn;
  int64_t n_layers = c.n_layers();
  apply_size(spec.num_layers, n_layers, "num_layers", fixed, start.source);
  apply_size(spec.hidden_size, c.hidden_size, "hidden_size", fixed, start.source);
  apply_size(spec.num_attention_heads, a.n_heads, "num_attention_heads", fixed, start.source);
  apply_size(spec.num_query_groups, a.n_kv_heads, "num_query_groups", fixed, start.source);
  if (!spec.kv_channels && (spec.hidden_size || spec.num_attention_heads) && !fixed)
    a.head_dim = c.hidden_size / a.n_heads;  // Megatron's default kv_channels
  apply_size(spec.kv_channels, a.head_dim, "kv_channels", fixed, start.source);
  a.head_dim_v = a.head_dim;
  a.scale = 1.0f / std::sqrt(static_cast<float>(a.head_dim));
  apply_size(spec.moe_ffn_hidden_size ? spec.moe_ffn_hidden_size : spec.ffn_hidden_size, f.expert_ffn,
             spec.moe_ffn_hidden_size ? "moe_ffn_hidden_size" : "ffn_hidden_size", fixed, start.source);
  apply_size(spec.moe_shared_expert_intermediate_size, f.shared_expert_ffn, "moe_shared_expert_intermediate_size",
             fixed, start.source);
  apply_size(spec.num_experts, f.router.n_experts, "num_experts", fixed, start.source);
  apply_size(spec.max_position_embeddings, c.max_positions, "max_position_embeddings", fixed, start.source);
  if (spec.rotary_base) c.rope_theta = *spec.rotary_base;
  if (spec.norm_epsilon) c.rms_eps = static_cast<float>(*spec.norm_epsilon);
  if (!config.given.contains("moe_router_topk")) config.router.topk = f.router.top_k;
  f.router.top_k = config.router.topk;
  config.router.num_experts = f.router.n_experts;
  c.layers = model::uniform_layers(n_layers, layer);
  MOE_CHECK(spec.seq_length <= c.max_positions, ConfigError, "seq_length (", spec.seq_length,
            ") exceeds the model's max_position_embeddings (", c.max_positions, ")");
  MOE_CHECK(c.vocab_size == static_cast<int64_t>(start.vocab.tokens.size()), ConfigError,
            "tokenizer: ", start.vocab.tokens.size(), " tokens, the model's vocab_size is ", c.vocab_size);

  // The saved model must route as it was trained: Megatron's default (top-k of the logits, then
  // softmax over the k) is Mixtral's and Qwen3-MoE's renormalised routing; pre-softmax without
  // renormalisation is Qwen2-MoE's and OLMoE's.
  const RouterConfig& model_router = c.moe().router;
  if (!config.given.contains("moe_router_pre_softmax")) config.router.pre_softmax = !model_router.renormalize;
  const RouterTrainConfig& r = config.router;
  MOE_CHECK(
      r.score_function == ScoreFunction::kSoftmax && r.num_groups == 0 && !r.topk_scaling_factor, ConfigError,
      "moe_router_score_function / moe_router_num_groups / moe_router_topk_scaling_factor: ", model::arch_name(c.arch),
      " routes by softmax without groups or scaling; these options need an "
      "architecture that has them");
  MOE_CHECK(r.pre_softmax != model_router.renormalize || r.topk == 1, ConfigError,
            "moe_router_pre_softmax: ", r.pre_softmax ? "true" : "false", " does not match ", model::arch_name(c.arch),
            "'s routing (", model_router.describe(), "); set it to ", model_router.renormalize ? "false" : "true");
  c.validate();
  r.validate();
  return start;
}

}  // namespace moe::train
