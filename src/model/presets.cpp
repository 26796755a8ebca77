// Preset table and random weight generation. Each tensor is drawn from its own seed (base seed and
// tensor name), so tensors can be generated in any order or in parallel with identical results.
#include "model/presets.h"

#include <thread>

#include "core/error.h"
#include "core/quantize.h"
#include "core/random.h"
#include "tokenizer/make_vocab.h"

namespace moe::model {

namespace {

struct Preset {
  const char* name;
  Arch arch;
  int64_t hidden, layers, heads, kv_heads, expert_ffn, experts, top_k, shared_ffn, vocab;
};

constexpr Preset kPresets[] = {
    {"mixtral-tiny", Arch::kMixtral, 256, 4, 8, 4, 512, 8, 2, 0, 512},
    {"qwen2moe-tiny", Arch::kQwen2Moe, 256, 4, 8, 4, 256, 16, 4, 512, 512},
    {"qwen3moe-tiny", Arch::kQwen3Moe, 256, 4, 8, 4, 256, 16, 4, 0, 512},
    {"olmoe-tiny", Arch::kOlmoe, 256, 4, 8, 8, 256, 16, 4, 0, 512},
    {"mixtral-bench", Arch::kMixtral, 1024, 8, 16, 8, 2816, 8, 2, 0, 32000},
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

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const Preset& preset : kPresets) names.emplace_back(preset.name);
  return names;
}

ModelConfig preset_config(const std::string& name) {
  const Preset& p = find_preset(name);
  ModelConfig c;
  c.arch = p.arch;
  c.vocab_size = p.vocab;
  c.hidden_size = p.hidden;
  c.n_layers = p.layers;
  c.n_heads = p.heads;
  c.n_kv_heads = p.kv_heads;
  c.head_dim = p.hidden / p.heads;
  c.max_positions = 4096;
  c.expert_ffn = p.expert_ffn;
  c.shared_expert_ffn = p.shared_ffn;
  c.router.n_experts = p.experts;
  c.router.top_k = p.top_k;
  c.rms_eps = 1e-5f;
  switch (p.arch) {
    case Arch::kMixtral:
      c.rope_theta = 1e6;
      c.router.renormalize = true;
      break;
    case Arch::kQwen2Moe:
      c.rope_theta = 1e6;
      c.qkv_bias = true;
      break;
    case Arch::kQwen3Moe:
      c.rope_theta = 1e6;
      c.qk_norm = QkNorm::kPerHead;
      c.router.renormalize = true;
      break;
    case Arch::kOlmoe:
      c.rope_theta = 1e4;
      c.qk_norm = QkNorm::kWhole;
      break;
  }
  c.validate();
  return c;
}

Model make_preset_model(const std::string& name, uint64_t seed, DType dtype) {
  Model model;
  model.name = name;
  model.config = preset_config(name);
  const ModelConfig& c = model.config;
  model.vocab = c.arch == Arch::kMixtral ? tokenizer::make_vocab(tokenizer::Vocab::Kind::kSpm, c.vocab_size)
                                         : tokenizer::make_vocab(tokenizer::Vocab::Kind::kBpe, c.vocab_size);
  if (c.arch == Arch::kOlmoe) model.vocab.pre = "gpt2";

  // Bind empty tensors by name through the HF naming table, then fill each one.
  ModelWeights& w = model.weights;
  w.layers.resize(c.n_layers);
  struct Job {
    Tensor* tensor;
    std::string name;
    std::vector<int64_t> shape;
    Init init;
  };
  std::vector<Job> jobs;
  const int64_t H = c.hidden_size;
  jobs.push_back({&w.token_embd, "model.embed_tokens.weight", {c.vocab_size, H}, Init::kEmbedding});
  jobs.push_back({&w.output_norm, "model.norm.weight", {H}, Init::kNorm});
  jobs.push_back({&w.output, "lm_head.weight", {c.vocab_size, H}, Init::kOutput});
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    LayerWeights& l = w.layers[layer];
    const std::string p = "model.layers." + std::to_string(layer) + ".";
    jobs.push_back({&l.attn_norm, p + "input_layernorm.weight", {H}, Init::kNorm});
    jobs.push_back({&l.wq, p + "self_attn.q_proj.weight", {c.q_dim(), H}, Init::kMatrix});
    jobs.push_back({&l.wk, p + "self_attn.k_proj.weight", {c.kv_dim(), H}, Init::kMatrix});
    jobs.push_back({&l.wv, p + "self_attn.v_proj.weight", {c.kv_dim(), H}, Init::kMatrix});
    jobs.push_back({&l.wo, p + "self_attn.o_proj.weight", {H, c.q_dim()}, Init::kMatrix});
    if (c.qkv_bias) {
      jobs.push_back({&l.bq, p + "self_attn.q_proj.bias", {c.q_dim()}, Init::kBias});
      jobs.push_back({&l.bk, p + "self_attn.k_proj.bias", {c.kv_dim()}, Init::kBias});
      jobs.push_back({&l.bv, p + "self_attn.v_proj.bias", {c.kv_dim()}, Init::kBias});
    }
    if (c.qk_norm != QkNorm::kNone) {
      const bool per_head = c.qk_norm == QkNorm::kPerHead;
      jobs.push_back({&l.q_norm, p + "self_attn.q_norm.weight", {per_head ? c.head_dim : c.q_dim()}, Init::kNorm});
      jobs.push_back({&l.k_norm, p + "self_attn.k_norm.weight", {per_head ? c.head_dim : c.kv_dim()}, Init::kNorm});
    }
    jobs.push_back({&l.ffn_norm, p + "post_attention_layernorm.weight", {H}, Init::kNorm});
    jobs.push_back({&l.router, p + "mlp.gate.weight", {c.router.n_experts, H}, Init::kMatrix});
    l.experts.resize(c.router.n_experts);
    for (int64_t e = 0; e < c.router.n_experts; ++e) {
      const std::string ep = p + "mlp.experts." + std::to_string(e) + ".";
      jobs.push_back({&l.experts[e].gate, ep + "gate_proj.weight", {c.expert_ffn, H}, Init::kMatrix});
      jobs.push_back({&l.experts[e].up, ep + "up_proj.weight", {c.expert_ffn, H}, Init::kMatrix});
      jobs.push_back({&l.experts[e].down, ep + "down_proj.weight", {H, c.expert_ffn}, Init::kMatrix});
    }
    if (c.shared_expert_ffn > 0) {
      const int64_t F = c.shared_expert_ffn;
      jobs.push_back({&l.shared_expert.gate, p + "mlp.shared_expert.gate_proj.weight", {F, H}, Init::kMatrix});
      jobs.push_back({&l.shared_expert.up, p + "mlp.shared_expert.up_proj.weight", {F, H}, Init::kMatrix});
      jobs.push_back({&l.shared_expert.down, p + "mlp.shared_expert.down_proj.weight", {H, F}, Init::kMatrix});
      jobs.push_back({&l.shared_expert_gate, p + "mlp.shared_expert_gate.weight", {1, H}, Init::kMatrix});
    }
  }
  // Two threads fill disjoint halves of the job list; values depend only on (seed, name).
  auto run = [&](size_t begin, size_t step) {
    for (size_t i = begin; i < jobs.size(); i += step)
      *jobs[i].tensor = random_tensor(jobs[i].name, jobs[i].shape, jobs[i].init, seed, dtype);
  };
  std::thread helper(run, 1, 2);
  run(0, 2);
  helper.join();
  return model;
}

}  // namespace moe::model
