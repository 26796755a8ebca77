// `moe info`: what a model is: architecture, sizes, routing, dtypes, bytes read per decode token.
#include <cstdio>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul/matmul.h"
#include "model/model.h"
#include "model/quant_scales.h"

namespace moe::cli {

namespace {

std::string human(double value, const char* unit) {
  const char* prefixes[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (value >= 1000 && i < 4) {
    value /= 1000;
    ++i;
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f %s%s", value, prefixes[i], unit);
  return buffer;
}

void print_info(const model::Model& m) {
  const model::ModelConfig& c = m.config;
  const model::ModelSizes sizes = model::model_sizes(m);
  std::map<std::string, int64_t> dtype_bytes;
  auto count = [&](const Tensor& t) {
    if (!t.empty()) dtype_bytes[dtype_info(t.dtype()).name] += t.nbytes();
  };
  count(m.weights.token_embd);
  count(m.weights.output);
  for (const auto& l : m.weights.layers) {
    for (const Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.router, &l.attn_norm, &l.ffn_norm, &l.wq_a, &l.wkv_a,
                            &l.wkv_b, &l.dense.gate, &l.dense.up, &l.dense.down})
      count(*t);
    for (const auto& e : l.experts) {
      count(e.gate);
      count(e.up);
      count(e.down);
    }
  }
  std::string dtypes;
  for (const auto& [name, bytes] : dtype_bytes) dtypes += (dtypes.empty() ? "" : ", ") + name + " " + human(bytes, "B");
  std::printf("model:             %s (%s)\n", m.path.c_str(), m.format == model::FileFormat::kGguf ? "GGUF" : "HF");
  std::printf("architecture:      %s\n", model::arch_name(c.arch));
  std::printf("layers:            %lld\n", static_cast<long long>(c.n_layers()));
  std::printf("hidden size:       %lld\n", static_cast<long long>(c.hidden_size));
  std::printf("attention:         %lld heads, %lld kv heads, head dim %lld%s%s\n",
              static_cast<long long>(c.attention().n_heads), static_cast<long long>(c.attention().n_kv_heads),
              static_cast<long long>(c.attention().head_dim),
              c.attention().qk_norm == model::QkNorm::kPerHead ? ", q/k norm per head"
              : c.attention().qk_norm == model::QkNorm::kWhole ? ", q/k norm over the projection"
                                                               : "",
              c.attention().qkv_bias ? ", qkv bias" : "");
  if (const model::AttentionSpec& a = c.attention(); a.kind == model::AttentionKind::kMla)
    std::printf("MLA:               q_lora_rank %lld, kv_lora_rank %lld, qk_nope %lld, qk_rope %lld, v %lld%s\n",
                static_cast<long long>(a.q_lora_rank), static_cast<long long>(a.kv_lora_rank),
                static_cast<long long>(a.nope_dim()), static_cast<long long>(a.rope_dim),
                static_cast<long long>(a.head_dim_v), c.rope_scaling ? ", YaRN" : "");
  int64_t dense_layers = 0;
  for (const model::LayerSpec& layer : c.layers) dense_layers += layer.ffn.is_moe() ? 0 : 1;
  if (dense_layers > 0) std::printf("dense layers:      %lld\n", static_cast<long long>(dense_layers));
  const bool sigmoid_gate = c.moe().shared_gate == model::SharedExpertGate::kSigmoid;
  std::printf("experts:           %lld, top-%lld, expert ffn %lld%s\n", static_cast<long long>(c.n_experts()),
              static_cast<long long>(c.moe().router.top_k), static_cast<long long>(c.moe().expert_ffn),
              c.moe().shared_expert_ffn > 0 ? (", shared expert ffn " + std::to_string(c.moe().shared_expert_ffn) +
                                               (sigmoid_gate ? " (sigmoid gate)" : " (ungated)"))
                                                  .c_str()
                                            : "");
  std::printf("routing:           %s\n", c.moe().router.describe().c_str());
  std::printf("vocabulary:        %lld (%s tokenizer, %zu tokens)\n", static_cast<long long>(c.vocab_size),
              m.vocab.kind == tokenizer::Vocab::Kind::kSpm ? "SentencePiece" : "byte-level BPE", m.vocab.tokens.size());
  std::printf("rope:              theta %g, %s\n", c.rope_theta,
              c.attention().kind == model::AttentionKind::kMla ? "interleaved pairs of the rope part (MLA)"
              : c.rope_style == kernels::RopeStyle::kNeox      ? "rotate-half"
                                                               : "interleaved");
  std::printf("parameters:        %s total, %s active per token\n",
              human(static_cast<double>(sizes.total_params), "").c_str(),
              human(static_cast<double>(sizes.active_params), "").c_str());
  std::printf("weights:           %s (%s)\n", human(static_cast<double>(sizes.total_bytes), "B").c_str(),
              dtypes.c_str());
  std::printf("decode reads:      %s of weights per token\n",
              human(static_cast<double>(sizes.decode_bytes_per_token), "B").c_str());
  if (sizes.kv_bytes_per_token == sizes.kv_bytes_decompressed)
    std::printf("kv cache:          %s per token (f32)\n",
                human(static_cast<double>(sizes.kv_bytes_per_token), "B").c_str());
  else
    std::printf("kv cache:          %s per token (f32, MLA latent; decompressed k and v: %s)\n",
                human(static_cast<double>(sizes.kv_bytes_per_token), "B").c_str(),
                human(static_cast<double>(sizes.kv_bytes_decompressed), "B").c_str());
  const Tensor& expert_gate = model::first_expert(m.weights).gate;
  if (const std::string q = model::describe_quantization(expert_gate); !q.empty())
    std::printf("quantization:      %s\n", q.c_str());
  const DType expert_dtype = expert_gate.dtype();
  std::printf("kernels:           %s (cpu: %s)\n", kernels::matmul_kernel_name(expert_dtype).c_str(),
              kernels::isa_name().c_str());
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a model: architecture, sizes, routing, dtypes");
  cmd->add_option("-m,--model", *path, kModelPathHelp)->required();
  cmd->callback([path] { print_info(model::load_model(*path)); });
}

}  // namespace moe::cli
