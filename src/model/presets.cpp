// Preset table and random weight generation. Each tensor is drawn from its own seed (base seed and
// tensor name), so tensors can be generated in any order or in parallel with identical results.
#include "model/presets.h"

#include <cmath>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/quantize.h"
#include "core/random.h"
#include "model/arch/arch_table.h"
#include "model/mla.h"
#include "tokenizer/make_vocab.h"

namespace moe::model {

namespace {

struct Preset {
  const char* name;
  Arch arch;
  int64_t hidden, layers, heads, kv_heads, expert_ffn, experts, top_k, shared_ffn, vocab;
  void (*shape)(ModelConfig& config) = nullptr;  // what the columns above do not say
};

// MLA of the DeepSeek presets: its ranks and head dims, and the first layer dense.
struct MlaShape {
  int64_t q_lora_rank, kv_lora_rank, nope, rope, v, dense_ffn;
};
constexpr MlaShape kTinyMla = {128, 64, 32, 16, 32, 512};

void deepseek_layers(ModelConfig& c, const MlaShape& mla) {
  for (LayerSpec& layer : c.layers) {
    AttentionSpec& a = layer.attention;
    a.q_lora_rank = mla.q_lora_rank;
    a.kv_lora_rank = mla.kv_lora_rank;
    a.rope_dim = mla.rope;
    a.head_dim = mla.nope + mla.rope;
    a.head_dim_v = mla.v;
    a.scale = mla_softmax_scale(a.head_dim, c.rope_scaling);
  }
  c.layers[0].ffn = FfnSpec();
  c.layers[0].ffn.kind = FfnKind::kDense;
  c.layers[0].ffn.dense_ffn = mla.dense_ffn;
}

// DeepSeek-V3's routing: sigmoid scores with the expert bias, topk_group of n_group groups,
// normalised, x2.5; YaRN as V3 sets it (mscale = mscale_all_dim), here over an original context
// of 1024.
void deepseek_v3_routing(ModelConfig& c, int64_t n_groups, int64_t topk_groups) {
  c.rope_scaling = YarnScaling{.factor = 4, .original_max_positions = 1024, .mscale = 1.0, .mscale_all_dim = 1.0};
  for (LayerSpec& layer : c.layers) {
    RouterConfig& r = layer.ffn.router;
    r.score_function = ScoreFunction::kSigmoid;
    r.n_groups = n_groups;
    r.topk_groups = topk_groups;
    r.renormalize = true;
    r.routed_scaling_factor = 2.5f;
    layer.ffn.router_bias_tensor = true;
  }
}

// deepseek-tiny: 2 of 4 groups.
void deepseek_v3(ModelConfig& c) {
  deepseek_v3_routing(c, 4, 2);
  deepseek_layers(c, kTinyMla);
}

// deepseek-bench: mixtral-bench's expert bytes in 64 experts (top-6, 4 of 8 groups), MLA at a
// quarter of V3's ranks.
void deepseek_bench(ModelConfig& c) {
  deepseek_v3_routing(c, 8, 4);
  deepseek_layers(c, {384, 128, 64, 32, 64, 2816});
}

// DeepSeek-V2's shape: softmax, group_limited_greedy (2 of 4 groups), not normalised, x2; YaRN with
// mscale != mscale_all_dim (cos and sin scaled).
void deepseek_v2(ModelConfig& c) {
  c.rope_scaling = YarnScaling{.factor = 4, .original_max_positions = 1024, .mscale = 0.707, .mscale_all_dim = 1.0};
  for (LayerSpec& layer : c.layers) {
    layer.ffn.router.n_groups = 4;
    layer.ffn.router.topk_groups = 2;
    layer.ffn.router.routed_scaling_factor = 2.0f;
  }
  deepseek_layers(c, kTinyMla);
}

// DeepSeek-V2-Lite's shape: a plain q_proj, greedy softmax routing, no rope_scaling.
void deepseek_v2_lite(ModelConfig& c) {
  MlaShape mla = kTinyMla;
  mla.q_lora_rank = 0;
  deepseek_layers(c, mla);
}

constexpr Preset kPresets[] = {
    {"mixtral-tiny", Arch::kMixtral, 256, 4, 8, 4, 512, 8, 2, 0, 512},
    {"qwen2moe-tiny", Arch::kQwen2Moe, 256, 4, 8, 4, 256, 16, 4, 512, 512},
    {"qwen3moe-tiny", Arch::kQwen3Moe, 256, 4, 8, 4, 256, 16, 4, 0, 512},
    {"olmoe-tiny", Arch::kOlmoe, 256, 4, 8, 8, 256, 16, 4, 0, 512},
    {"deepseek-tiny", Arch::kDeepseekV3, 256, 4, 8, 8, 128, 16, 4, 128, 512, deepseek_v3},
    {"deepseek-v2-tiny", Arch::kDeepseekV2, 256, 4, 8, 8, 128, 16, 4, 256, 512, deepseek_v2},
    {"deepseek-v2-lite-tiny", Arch::kDeepseekV2, 256, 4, 8, 8, 128, 16, 4, 256, 512, deepseek_v2_lite},
    {"mixtral-bench", Arch::kMixtral, 1024, 8, 16, 8, 2816, 8, 2, 0, 32000},
    {"deepseek-bench", Arch::kDeepseekV3, 1024, 8, 16, 16, 352, 64, 6, 704, 32000, deepseek_bench},
};

const Preset& find_preset(const std::string& name) {
  for (const Preset& preset : kPresets)
    if (name == preset.name) return preset;
  std::string known;
  for (const Preset& preset : kPresets) known += std::string(known.empty() ? "" : ", ") + preset.name;
  throw UsageError(detail::concat("--preset: unknown preset '", name, "' (known: ", known, ")"));
}

// Standard deviations chosen so that logits have a std near 10 (DESIGN.md section 5).
constexpr double kEmbeddingStd = 1.0;
constexpr double kOutputStd = 0.6;
constexpr double kMatrixStd = 0.1;
constexpr double kNormStd = 0.1;  // norm weights are 1 + N(0, kNormStd)

enum class Init { kMatrix, kEmbedding, kOutput, kNorm, kBias };

Tensor random_tensor(const std::string& name, std::vector<int64_t> shape, Init init, uint64_t seed, DType dtype) {
  Rng rng(derive_seed(seed, name));
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  std::vector<float> values(numel);
  const double std = init == Init::kEmbedding ? kEmbeddingStd
                     : init == Init::kOutput  ? kOutputStd
                     : init == Init::kNorm    ? kNormStd
                                              : kMatrixStd;
  for (float& v : values) v = static_cast<float>((init == Init::kNorm ? 1.0 : 0.0) + std * rng.normal());
  // Norms and biases stay f32 as llama.cpp keeps them; matrices take the requested dtype.
  const DType target = (init == Init::kNorm || init == Init::kBias || shape.size() == 1) ? DType::kF32 : dtype;
  if (target == DType::kF32) return Tensor::from_f32(std::move(shape), std::move(values));
  const int64_t cols = shape.back(), rows = numel / cols;
  std::vector<std::byte> bytes(rows * row_bytes(target, cols));
  for (int64_t r = 0; r < rows; ++r)
    quantize_row(target, values.data() + r * cols, bytes.data() + r * row_bytes(target, cols), cols);
  return Tensor::from_bytes(target, std::move(shape), std::move(bytes));
}

// The role of a tensor, from its HF name and shape.
Init init_of(const HfTensorSlot& slot) {
  if (slot.name == "model.embed_tokens.weight") return Init::kEmbedding;
  if (slot.name == "lm_head.weight") return Init::kOutput;
  if (slot.shape.size() > 1) return Init::kMatrix;
  return slot.name.find("norm") != std::string::npos ? Init::kNorm : Init::kBias;
}

// Weights are drawn by the name spelled as Qwen-MoE and OLMoE spell it ("mlp.experts.E.gate_proj"),
// whatever the architecture's own names, so that a preset's bytes stay those of earlier releases.
std::string seed_name(const ArchTable& arch, std::string name) {
  constexpr const char* kRoles[] = {"gate_proj", "up_proj", "down_proj"};
  const size_t block = name.find(arch.hf_moe_block);
  if (block == std::string::npos || name.compare(0, 13, "model.layers.") != 0) return name;
  name.replace(block, std::strlen(arch.hf_moe_block), "mlp.");
  for (int role = 0; role < 3; ++role) {
    const std::string suffix = std::string(".") + arch.hf_expert_roles[role] + ".weight";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return name.substr(0, name.size() - suffix.size()) + "." + kRoles[role] + ".weight";
  }
  return name;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const Preset& preset : kPresets) names.emplace_back(preset.name);
  return names;
}

ModelConfig preset_config(const std::string& name) {
  const Preset& p = find_preset(name);
  const ArchTable& arch = arch_table(p.arch);
  ModelConfig c;
  c.arch = p.arch;
  c.vocab_size = p.vocab;
  c.hidden_size = p.hidden;
  c.max_positions = 4096;
  c.rms_eps = 1e-5f;
  LayerSpec layer;
  layer.attention.n_heads = p.heads;
  layer.attention.n_kv_heads = p.kv_heads;
  layer.attention.head_dim = layer.attention.head_dim_v = p.hidden / p.heads;
  layer.attention.scale = 1.0f / std::sqrt(static_cast<float>(layer.attention.head_dim));
  layer.ffn.expert_ffn = p.expert_ffn;
  layer.ffn.shared_expert_ffn = p.shared_ffn;
  layer.ffn.router.n_experts = p.experts;
  layer.ffn.router.top_k = p.top_k;
  arch.traits(layer);
  c.layers = uniform_layers(p.layers, layer);
  c.rope_theta = arch.preset_rope_theta;
  if (p.shape != nullptr) p.shape(c);
  c.validate();
  return c;
}

tokenizer::Vocab preset_vocab(const std::string& name) {
  const ModelConfig config = preset_config(name);
  const ArchTable& arch = arch_table(config.arch);
  tokenizer::Vocab vocab = tokenizer::make_vocab(
      arch.preset_spm ? tokenizer::Vocab::Kind::kSpm : tokenizer::Vocab::Kind::kBpe, config.vocab_size);
  if (*arch.preset_pre_tokenizer != '\0') vocab.pre = arch.preset_pre_tokenizer;
  if (arch.preset_chat_template) vocab.chat_template = arch.preset_chat_template;
  return vocab;
}

Model make_preset_model(const std::string& name, uint64_t seed, DType dtype) {
  Model model;
  model.name = name;
  model.config = preset_config(name);
  const ArchTable& arch = arch_table(model.config.arch);
  model.vocab = preset_vocab(name);

  // Every tensor through the HF naming table, each filled by its role.
  std::vector<HfTensorSlot> jobs = hf_tensor_slots(model.config, model.weights);
  // Two threads fill disjoint halves of the job list; values depend only on (seed, name).
  auto run = [&](size_t begin, size_t step) {
    for (size_t i = begin; i < jobs.size(); i += step)
      *jobs[i].tensor = random_tensor(seed_name(arch, jobs[i].name), jobs[i].shape, init_of(jobs[i]), seed, dtype);
  };
  std::thread helper(run, 1, 2);
  run(0, 2);
  helper.join();
  return model;
}

}  // namespace moe::model
