// Parameter storage. Names come from the model layer's HF naming table (model::weights_to_hf run
// over the views), so training writes exactly the tensors `moe run` loads.
#include "train/param_store.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/random.h"

namespace moe::train {

Tensor ParamStore::add(std::vector<int64_t> shape, bool expert) {
  Param& p = storage_.emplace_back();
  p.expert = expert;
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  p.shape = shape;
  p.value.assign(numel, 0.0f);
  p.grad.assign(numel, 0.0f);
  by_value_[p.value.data()] = &p;
  return Tensor(DType::kF32, std::move(shape), reinterpret_cast<const std::byte*>(p.value.data()), nullptr);
}

ParamStore::ParamStore(const model::ModelConfig& config, int64_t first_expert, int64_t n_experts)
    : config_(config) {
  MOE_CHECK(config.rope_style == kernels::RopeStyle::kNeox, ConfigError,
            "training keeps q/k rows in HF's rotate-half order; convert interleaved rows first");
  const int64_t H = config.hidden_size, E = config.router.n_experts;
  views_.token_embd = add({config.vocab_size, H});
  views_.output_norm = add({H});
  views_.output = config.tie_embeddings ? views_.token_embd : add({config.vocab_size, H});
  views_.layers.resize(config.n_layers);
  for (model::LayerWeights& l : views_.layers) {
    l.attn_norm = add({H});
    l.wq = add({config.q_dim(), H});
    l.wk = add({config.kv_dim(), H});
    l.wv = add({config.kv_dim(), H});
    l.wo = add({H, config.q_dim()});
    if (config.qkv_bias) {
      l.bq = add({config.q_dim()});
      l.bk = add({config.kv_dim()});
      l.bv = add({config.kv_dim()});
    }
    if (config.qk_norm != model::QkNorm::kNone) {
      const bool per_head = config.qk_norm == model::QkNorm::kPerHead;
      l.q_norm = add({per_head ? config.head_dim : config.q_dim()});
      l.k_norm = add({per_head ? config.head_dim : config.kv_dim()});
    }
    l.ffn_norm = add({H});
    l.router = add({E, H});
    l.experts.resize(E);
    const int64_t last = n_experts < 0 ? E : first_expert + n_experts;
    for (int64_t i = first_expert; i < last; ++i) {
      ExpertWeights& e = l.experts[i];
      e.gate = add({config.expert_ffn, H}, true);
      e.up = add({config.expert_ffn, H}, true);
      e.down = add({H, config.expert_ffn}, true);
    }
    if (config.shared_expert_ffn > 0) {
      l.shared_expert.gate = add({config.shared_expert_ffn, H});
      l.shared_expert.up = add({config.shared_expert_ffn, H});
      l.shared_expert.down = add({H, config.shared_expert_ffn});
      l.shared_expert_gate = add({1, H});
    }
  }
  for (const auto& [name, view] : model::weights_to_hf(config, views_)) {
    if (view.empty()) continue;  // another EP rank's expert
    Param* p = by_value_.at(view.f32());
    p->name = name;
    order_.push_back(p);
  }
  MOE_ASSERT(order_.size() == storage_.size());
}

float* ParamStore::grad(const Tensor& view) { return by_value_.at(view.f32())->grad.data(); }

std::vector<ParamRef> ParamStore::params(Part part) {
  std::vector<ParamRef> refs;
  for (Param* p : order_)
    if (part == Part::kAll || p->expert == (part == Part::kExperts))
      refs.push_back({p->name, p->value, p->grad, p->shape.size() > 1});
  return refs;
}

void ParamStore::zero_grad() {
  for (Param& p : storage_) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

void ParamStore::init_random(uint64_t seed, double std) {
  for (Param* p : order_) {
    const bool is_norm = p->name.find("norm.weight") != std::string::npos;
    const bool is_bias = p->name.size() >= 5 && p->name.compare(p->name.size() - 5, 5, ".bias") == 0;
    Rng rng(derive_seed(seed, p->name));
    for (float& v : p->value) v = is_norm ? 1.0f : is_bias ? 0.0f : static_cast<float>(std * rng.normal());
  }
}

void ParamStore::load(const model::NamedTensors& tensors, const std::string& source) {
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, tensor] : tensors) by_name[name] = &tensor;
  for (Param* p : order_) {
    const auto it = by_name.find(p->name);
    MOE_CHECK(it != by_name.end(), FormatError, source, ": missing tensor '", p->name, "'");
    const Tensor& t = *it->second;
    MOE_CHECK(t.shape() == p->shape, FormatError, source, ": tensor '", p->name,
              "' has shape ", shape_string(t.shape()), ", expected ", shape_string(p->shape));
    const std::vector<float> values = t.to_f32();
    std::copy(values.begin(), values.end(), p->value.begin());  // in place: the views point here
  }
}

model::NamedTensors ParamStore::named_tensors() const {
  model::NamedTensors out;
  for (const Param* p : order_) out.emplace_back(p->name, Tensor::from_f32(p->shape, p->value));
  return out;
}

}  // namespace moe::train
