// Parameter storage. Names come from the model layer's HF naming table (model::weights_to_hf run
// over the views), so training writes exactly the tensors `moe run` loads.
#include "train/param_store.h"

#include "train/parallel_chunks.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/random.h"

namespace moe::train {

Tensor ParamStore::add(std::vector<int64_t> full_shape, Kind kind) {
  Param& p = storage_.emplace_back();
  p.expert = kind == Kind::kExpert;
  p.slice.full_shape = full_shape;
  if (shard_.tp_size > 1 && (kind == Kind::kRows || kind == Kind::kCols)) {
    p.slice.split = kind == Kind::kRows ? TensorSlice::Split::kRows : TensorSlice::Split::kCols;
    p.slice.index = shard_.tp_rank;
    p.slice.count = shard_.tp_size;
  }
  p.shape = p.slice.local_shape();
  int64_t numel = 1;
  for (int64_t d : p.shape) numel *= d;
  p.value.assign(numel, 0.0f);
  p.grad.assign(numel, 0.0f);
  by_value_[p.value.data()] = &p;
  return Tensor(DType::kF32, p.shape, reinterpret_cast<const std::byte*>(p.value.data()), nullptr);
}

ParamStore::ParamStore(const model::ModelConfig& config, const ParamShard& shard) : config_(config), shard_(shard) {
  MOE_CHECK(config.rope_style == kernels::RopeStyle::kNeox, ConfigError,
            "training keeps q/k rows in HF's rotate-half order; convert interleaved rows first");
  const int tp = shard.tp_size;
  MOE_CHECK(tp >= 1 && shard.tp_rank >= 0 && shard.tp_rank < tp, ConfigError, "tensor parallel rank ", shard.tp_rank,
            " of ", tp);
  MOE_CHECK(config.attention().n_heads % tp == 0 && config.attention().n_kv_heads % tp == 0, ConfigError,
            "tensor_model_parallel_size = ", tp, " does not divide the attention heads (", config.attention().n_heads,
            ") and kv heads (", config.attention().n_kv_heads, ")");
  MOE_CHECK(config.moe().shared_expert_ffn % tp == 0, ConfigError, "tensor_model_parallel_size = ", tp,
            " does not divide the shared expert's width ", config.moe().shared_expert_ffn);
  MOE_CHECK(tp == 1 || config.attention().qk_norm != model::QkNorm::kWhole, ConfigError,
            "tensor_model_parallel_size = ", tp,
            ": this model normalises q and k over the whole projection (OLMoE), which tensor parallelism splits");
  const int64_t H = config.hidden_size, E = config.n_experts();
  const int64_t first_expert = shard.first_expert, n_experts = shard.n_experts;
  views_.token_embd = add({config.vocab_size, H});
  views_.output_norm = add({H});
  views_.output = config.tie_embeddings ? views_.token_embd : add({config.vocab_size, H});
  views_.layers.resize(config.n_layers());
  for (model::LayerWeights& l : views_.layers) {
    l.attn_norm = add({H});
    l.wq = add({config.attention().q_dim(), H}, Kind::kRows);
    l.wk = add({config.attention().kv_dim(), H}, Kind::kRows);
    l.wv = add({config.attention().kv_dim(), H}, Kind::kRows);
    l.wo = add({H, config.attention().q_dim()}, Kind::kCols);
    if (config.attention().qkv_bias) {
      l.bq = add({config.attention().q_dim()}, Kind::kRows);
      l.bk = add({config.attention().kv_dim()}, Kind::kRows);
      l.bv = add({config.attention().kv_dim()}, Kind::kRows);
    }
    if (config.attention().qk_norm != model::QkNorm::kNone) {
      const bool per_head = config.attention().qk_norm == model::QkNorm::kPerHead;
      l.q_norm = add({per_head ? config.attention().head_dim : config.attention().q_dim()});
      l.k_norm = add({per_head ? config.attention().head_dim : config.attention().kv_dim()});
    }
    l.ffn_norm = add({H});
    l.router = add({E, H});
    l.experts.resize(E);
    const int64_t last = n_experts < 0 ? E : first_expert + n_experts;
    for (int64_t i = first_expert; i < last; ++i) {
      ExpertWeights& e = l.experts[i];
      e.gate = add({config.moe().expert_ffn, H}, Kind::kExpert);
      e.up = add({config.moe().expert_ffn, H}, Kind::kExpert);
      e.down = add({H, config.moe().expert_ffn}, Kind::kExpert);
    }
    if (config.moe().shared_expert_ffn > 0) {
      l.shared_expert.gate = add({config.moe().shared_expert_ffn, H}, Kind::kRows);
      l.shared_expert.up = add({config.moe().shared_expert_ffn, H}, Kind::kRows);
      l.shared_expert.down = add({H, config.moe().shared_expert_ffn}, Kind::kCols);
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
  for (Param* p : order_) {
    const Part own = p->expert ? Part::kExperts : p->slice.whole() ? Part::kDense : Part::kSplit;
    if (part == Part::kAll || part == own)
      refs.push_back({p->name, p->value, p->grad, p->slice.full_shape.size() > 1, p->slice});
  }
  return refs;
}

void ParamStore::zero_grad() {
  for (Param& p : storage_) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

void ParamStore::init_random(uint64_t seed, double std, ThreadPool* pool) {
  constexpr int64_t kChunk = 1 << 16;  // values per task
  for (Param* p : order_) {
    const bool is_norm = p->name.find("norm.weight") != std::string::npos;
    const bool is_bias = p->name.size() >= 5 && p->name.compare(p->name.size() - 5, 5, ".bias") == 0;
    std::vector<float> full(p->slice.whole() ? 0 : p->value.size() * p->slice.count);
    std::vector<float>& values = p->slice.whole() ? p->value : full;
    if (is_norm || is_bias) {
      std::fill(values.begin(), values.end(), is_norm ? 1.0f : 0.0f);
    } else {
      const uint64_t stream = derive_seed(seed, p->name);
      for_chunks(pool, static_cast<int64_t>(values.size()), kChunk, [&](int64_t begin, int64_t end) {
        Rng rng(stream);
        rng.skip(2 * static_cast<uint64_t>(begin));  // two draws per normal
        for (int64_t i = begin; i < end; ++i) values[i] = static_cast<float>(std * rng.normal());
      });
    }
    if (!p->slice.whole()) {
      const std::vector<float> block = p->slice.cut(full);
      std::copy(block.begin(), block.end(), p->value.begin());  // in place: the views point here
    }
  }
}

void ParamStore::load(const model::NamedTensors& tensors, const std::string& source) {
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, tensor] : tensors) by_name[name] = &tensor;
  for (Param* p : order_) {
    const auto it = by_name.find(p->name);
    MOE_CHECK(it != by_name.end(), FormatError, source, ": missing tensor '", p->name, "'");
    const Tensor& t = *it->second;
    MOE_CHECK(t.shape() == p->slice.full_shape, FormatError, source, ": tensor '", p->name, "' has shape ",
              shape_string(t.shape()), ", expected ", shape_string(p->slice.full_shape));
    const std::vector<float> values = p->slice.cut(t.to_f32());
    std::copy(values.begin(), values.end(), p->value.begin());  // in place: the views point here
  }
}

TensorSlice ParamStore::slice(const std::string& name) const {
  for (const Param* p : order_)
    if (p->name == name) return p->slice;
  return {};
}

model::NamedTensors ParamStore::named_tensors() const {
  model::NamedTensors out;
  for (const Param* p : order_) out.emplace_back(p->name, Tensor::from_f32(p->shape, p->value));
  return out;
}

}  // namespace moe::train
