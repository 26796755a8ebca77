// Forward pass. Prefill runs the whole prompt as one batch through every GEMM; experts multiply
// only the rows routed to them; decode reads each needed weight once per token.
#include "model/transformer.h"

#include <algorithm>
#include <cstring>

#include "core/quantize.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/matmul/matmul.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"

namespace moe::model {

namespace {

std::vector<float> to_vector(const Tensor& t) { return t.empty() ? std::vector<float>() : t.to_f32(); }

void grow(std::vector<float>& buffer, int64_t size) {
  if (static_cast<int64_t>(buffer.size()) < size) buffer.resize(size);
}

void add_bias(float* rows, const std::vector<float>& bias, int64_t n_rows) {
  if (bias.empty()) return;
  const int64_t width = static_cast<int64_t>(bias.size());
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t i = 0; i < width; ++i) rows[r * width + i] += bias[i];
}

void clamp(float* values, int64_t n, float limit) {
  for (int64_t i = 0; i < n; ++i) values[i] = std::clamp(values[i], -limit, limit);
}

}  // namespace

Transformer::Transformer(const Model& model, ThreadPool& pool)
    : model_(model), config_(model.config), pool_(pool) {
  const ModelWeights& w = model.weights;
  output_norm_ = to_vector(w.output_norm);
  for (const LayerWeights& l : w.layers) {
    vectors_.push_back({to_vector(l.attn_norm), to_vector(l.ffn_norm), to_vector(l.q_norm), to_vector(l.k_norm),
                        to_vector(l.bq), to_vector(l.bk), to_vector(l.bv)});
    experts_.emplace_back(l.experts);
  }
  dispatcher_ = std::make_unique<LocalDispatcher>(config_.router.n_experts);
}

KvCache Transformer::make_cache(int64_t capacity) const {
  return KvCache(config_.n_layers, capacity, config_.kv_dim());
}

void Transformer::attention_block(int64_t layer, std::span<const SequenceSlice> batch, int64_t n_tokens) {
  const LayerWeights& l = model_.weights.layers[layer];
  const LayerVectors& vec = vectors_[layer];
  const int64_t H = config_.hidden_size, q_dim = config_.q_dim(), kv_dim = config_.kv_dim();
  const int64_t head_dim = config_.head_dim;

  kernels::rmsnorm(x_.data(), H, vec.attn_norm.data(), h_.data(), H, n_tokens, H, config_.rms_eps);
  kernels::matmul(l.wq, {h_.data(), H, q_.data(), q_dim, n_tokens}, &pool_);
  kernels::matmul(l.wk, {h_.data(), H, k_.data(), kv_dim, n_tokens}, &pool_);
  kernels::matmul(l.wv, {h_.data(), H, v_.data(), kv_dim, n_tokens}, &pool_);
  add_bias(q_.data(), vec.bq, n_tokens);
  add_bias(k_.data(), vec.bk, n_tokens);
  add_bias(v_.data(), vec.bv, n_tokens);
  if (config_.qk_norm == QkNorm::kWhole) {
    kernels::rmsnorm(q_.data(), q_dim, vec.q_norm.data(), q_.data(), q_dim, n_tokens, q_dim, config_.rms_eps);
    kernels::rmsnorm(k_.data(), kv_dim, vec.k_norm.data(), k_.data(), kv_dim, n_tokens, kv_dim, config_.rms_eps);
  } else if (config_.qk_norm == QkNorm::kPerHead) {
    kernels::rmsnorm(q_.data(), head_dim, vec.q_norm.data(), q_.data(), head_dim, n_tokens * config_.n_heads,
                     head_dim, config_.rms_eps);
    kernels::rmsnorm(k_.data(), head_dim, vec.k_norm.data(), k_.data(), head_dim, n_tokens * config_.n_kv_heads,
                     head_dim, config_.rms_eps);
  }
  if (config_.clip_qkv) {
    clamp(q_.data(), n_tokens * q_dim, *config_.clip_qkv);
    clamp(k_.data(), n_tokens * kv_dim, *config_.clip_qkv);
    clamp(v_.data(), n_tokens * kv_dim, *config_.clip_qkv);
  }
  int64_t row = 0;
  for (const SequenceSlice& slice : batch) {
    KvCache& cache = *slice.cache;
    const int64_t first = cache.length(), n = static_cast<int64_t>(slice.tokens.size());
    float* q = q_.data() + row * q_dim;
    float* k = k_.data() + row * kv_dim;
    for (int64_t t = 0; t < n; ++t) {
      kernels::rope_apply(q + t * q_dim, config_.n_heads, head_dim, first + t, config_.rope_theta, config_.rope_style);
      kernels::rope_apply(k + t * kv_dim, config_.n_kv_heads, head_dim, first + t, config_.rope_theta,
                          config_.rope_style);
    }
    std::memcpy(cache.keys(layer) + first * kv_dim, k, n * kv_dim * sizeof(float));
    std::memcpy(cache.values(layer) + first * kv_dim, v_.data() + row * kv_dim, n * kv_dim * sizeof(float));
    kernels::attention({q, cache.keys(layer), cache.values(layer), attn_.data() + row * q_dim, n, first,
                        config_.n_heads, config_.n_kv_heads, head_dim},
                       &pool_);
    row += n;
  }
  kernels::matmul(l.wo, {attn_.data(), q_dim, h_.data(), H, n_tokens}, &pool_);
  for (int64_t i = 0; i < n_tokens * H; ++i) x_[i] += h_[i];
}

void Transformer::moe_block(int64_t layer, int64_t n_tokens) {
  const LayerWeights& l = model_.weights.layers[layer];
  const int64_t H = config_.hidden_size, n_experts = config_.router.n_experts;
  kernels::rmsnorm(x_.data(), H, vectors_[layer].ffn_norm.data(), h_.data(), H, n_tokens, H, config_.rms_eps);

  kernels::matmul(l.router, {h_.data(), H, router_logits_.data(), n_experts, n_tokens}, &pool_);
  const Routing routing = route(router_logits_.data(), n_tokens, config_.router);
  dispatcher_->dispatch(h_.data(), H, routing, batch_);
  grow(expert_out_, batch_.n_rows() * H);
  experts_[layer].forward(batch_, expert_out_.data(), &pool_);
  dispatcher_->combine(batch_, expert_out_.data(), routing, moe_out_.data());

  if (config_.shared_expert_ffn > 0) {
    swiglu_ffn(l.shared_expert, h_.data(), n_tokens, shared_out_.data(), gate_buf_, up_buf_, &pool_);
    std::vector<float> gate(n_tokens);
    kernels::matmul(l.shared_expert_gate, {h_.data(), H, gate.data(), 1, n_tokens}, &pool_);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float g = kernels::sigmoid(gate[t]);
      for (int64_t i = 0; i < H; ++i) moe_out_[t * H + i] += g * shared_out_[t * H + i];
    }
  }
  for (int64_t i = 0; i < n_tokens * H; ++i) x_[i] += moe_out_[i];
}

void Transformer::forward(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits,
                          bool all_logits) {
  const SequenceSlice slice{tokens, &cache, all_logits};
  forward(std::span<const SequenceSlice>(&slice, 1), logits);
}

void Transformer::forward(std::span<const SequenceSlice> batch, std::vector<float>& logits) {
  const int64_t H = config_.hidden_size, vocab = config_.vocab_size;
  int64_t n_tokens = 0, n_logit_rows = 0;
  for (const SequenceSlice& slice : batch) {
    const int64_t n = static_cast<int64_t>(slice.tokens.size());
    MOE_CHECK(n > 0, UsageError, "forward: a sequence with no tokens");
    slice.cache->check_room(n);
    n_tokens += n;
    n_logit_rows += slice.all_logits ? n : 1;
  }
  for (std::vector<float>* buffer : {&x_, &h_, &moe_out_, &shared_out_}) grow(*buffer, n_tokens * H);
  grow(q_, n_tokens * config_.q_dim());
  grow(attn_, n_tokens * config_.q_dim());
  grow(k_, n_tokens * config_.kv_dim());
  grow(v_, n_tokens * config_.kv_dim());
  grow(router_logits_, n_tokens * config_.router.n_experts);

  const Tensor& embd = model_.weights.token_embd;
  int64_t row = 0;
  for (const SequenceSlice& slice : batch)
    for (const int32_t token : slice.tokens) {
      MOE_CHECK(token >= 0 && token < vocab, UsageError, "token id ", token, " is outside the vocabulary of ", vocab);
      dequantize_row(embd.dtype(), embd.row(token), x_.data() + row++ * H, H);
    }
  for (int64_t layer = 0; layer < config_.n_layers; ++layer) {
    attention_block(layer, batch, n_tokens);
    moe_block(layer, n_tokens);
  }
  // Gather the rows that need logits, then one output GEMM over them.
  row = 0;
  int64_t out_row = 0;
  for (const SequenceSlice& slice : batch) {
    const int64_t n = static_cast<int64_t>(slice.tokens.size());
    slice.cache->advance(n);
    const int64_t first = slice.all_logits ? 0 : n - 1;
    kernels::rmsnorm(x_.data() + (row + first) * H, H, output_norm_.data(), h_.data() + out_row * H, H, n - first, H,
                     config_.rms_eps);
    out_row += n - first;
    row += n;
  }
  logits.resize(n_logit_rows * vocab);
  kernels::matmul(model_.weights.output, {h_.data(), H, logits.data(), vocab, n_logit_rows}, &pool_);
}

}  // namespace moe::model
