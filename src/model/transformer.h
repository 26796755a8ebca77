// Transformer: the forward pass of a decoder-only MoE model over a batch of new tokens of one
// sequence, appending to its KV cache. Per layer: RMSNorm -> attention (GQA, RoPE, optional q/k
// norm, biases, clipping) -> residual -> RMSNorm -> MoE (Router -> Dispatcher -> Experts ->
// combine, plus a gated shared expert) -> residual.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "moe/dispatcher.h"
#include "moe/experts.h"

namespace moe::model {

// Tokens of one sequence in a batch: they sit at positions cache->length() onward.
struct SequenceSlice {
  std::span<const int32_t> tokens;
  KvCache* cache;
  bool all_logits;  // logits for every token, else only for the last
};

class Transformer {
 public:
  Transformer(const Model& model, ThreadPool& pool);

  KvCache make_cache(int64_t capacity) const;
  int64_t vocab_size() const { return config_.vocab_size; }
  // Runs `tokens` at positions cache.length() onward. logits receives [n_tokens, vocab] when
  // all_logits, else [1, vocab] for the last token.
  void forward(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits, bool all_logits);
  // Several sequences in one batch: every GEMM and the MoE layer run over all their tokens at once,
  // attention per sequence. logits holds each slice's rows (all or last) in slice order.
  void forward(std::span<const SequenceSlice> batch, std::vector<float>& logits);

 private:
  void attention_block(int64_t layer, std::span<const SequenceSlice> batch, int64_t n_tokens);
  void moe_block(int64_t layer, int64_t n_tokens);

  const Model& model_;
  const ModelConfig& config_;
  ThreadPool& pool_;
  // Norm weights and biases as f32, converted once.
  struct LayerVectors {
    std::vector<float> attn_norm, ffn_norm, q_norm, k_norm, bq, bk, bv;
  };
  std::vector<LayerVectors> vectors_;
  std::vector<float> output_norm_;
  std::vector<Experts> experts_;
  std::unique_ptr<Dispatcher> dispatcher_;
  // Activations, [n_tokens, width], grown as needed.
  std::vector<float> x_, h_, q_, k_, v_, attn_, router_logits_, moe_out_, expert_out_, shared_out_, gate_buf_, up_buf_;
  ExpertBatch batch_;
};

}  // namespace moe::model
