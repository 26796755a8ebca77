// Transformer: the forward pass of a decoder-only MoE model over a batch of sequences, appending to
// their KV caches. Per layer: RMSNorm -> attention (GQA, RoPE, optional q/k norm, biases, clipping;
// or DeepSeek's MLA, transformer_mla.cpp) -> residual -> RMSNorm -> MoE (Router -> Dispatcher ->
// Experts -> combine, plus a gated or ungated shared expert) or a dense FFN -> residual. Under a
// parallel layout the same code runs on a Shard: attention heads and the shared expert sliced over
// the attention TP group (sums all-reduced), experts spread over the moe_ep group (tokens exchanged
// all-to-all) and sliced over the moe_tp group (sums all-reduced), layers split into pipeline
// stages (activations sent stage to stage).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/phase_timer.h"
#include "core/thread_pool.h"
#include "model/kv_cache.h"
#include "model/mla.h"
#include "model/model.h"
#include "model/shard.h"
#include "moe/all_to_all_dispatcher.h"
#include "moe/balance/online_balancer.h"
#include "moe/balance/placement.h"
#include "moe/dispatcher.h"
#include "moe/expert_stats.h"
#include "moe/experts.h"
#include "moe/slot_table.h"
#include "parallel/communicator.h"

namespace moe::model {

// Tokens of one sequence in a batch: they sit at positions cache->length() onward.
struct SequenceSlice {
  std::span<const int32_t> tokens;
  KvCache* cache;
  bool all_logits;  // logits for every token, else only for the last
};

// The communicators a rank computes with; each is the single-process group in one process.
struct ParallelGroups {
  parallel::Communicator* attention = nullptr;  // attention TP group (size 1 under attention DP)
  parallel::Communicator* moe_ep = nullptr;     // all-to-all of tokens to experts
  parallel::Communicator* moe_tp = nullptr;     // sum of sliced expert outputs
  parallel::Communicator* pipeline = nullptr;   // stages, in order
  bool attention_dp = false;                    // ranks of the attention group hold different sequences
  bool check_dispatch = false;
  // Wide-EP expert slots (validated, ranks = moe_ep size). Unset: one slot per expert, expert e
  // on moe_ep rank e / (num_experts / moe_ep).
  std::optional<balance::Placement> placement;
  // Online EPLB: re-plan the slots from live statistics and move weights between steps.
  std::optional<balance::OnlineBalancerConfig> online;
  bool replicas_local_first = true;  // SlotTable's replica rule (else spread by token index)
};

// What an MLA model's KV cache holds per token and layer: every head's k and v decompressed by
// kv_b (v padded to the k head width), or the latent alone (kv_lora_rank + qk_rope_head_dim values,
// read as both keys and values: kv_b's k part folded into each query, its v part applied after
// attention).
enum class MlaCache { kDecompressed, kLatent };

class Transformer {
 public:
  // The whole model in this process.
  Transformer(const Model& model, ThreadPool& pool);
  // This rank's shard of the model under a parallel layout.
  Transformer(const Model& model, ThreadPool& pool, const Shard& shard, ParallelGroups groups);
  ~Transformer();

  // A cache of its own for `capacity` positions.
  KvCache make_cache(int64_t capacity) const;
  // A pool of n_blocks blocks for this rank's layers and KV heads, and the bytes of one block.
  std::unique_ptr<KvPool> make_pool(int64_t n_blocks) const;
  int64_t kv_block_bytes() const;
  // Storage of the caches and pools made from now on (default f32).
  void set_kv_dtype(kernels::KvDtype dtype) { kv_dtype_ = dtype; }
  // MLA models: what the caches and pools made from now on hold (default the latent).
  void set_mla_cache(MlaCache mode) { mla_cache_ = mode; }
  // Bytes one token's keys and values take in the KV cache over this rank's layers.
  int64_t kv_bytes_per_token() const;
  int64_t vocab_size() const { return config_.vocab_size; }
  // Runs `tokens` at positions cache.length() onward. logits receives [n_tokens, vocab] when
  // all_logits, else [1, vocab] for the last token.
  void forward(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits, bool all_logits);
  // Several sequences in one batch: every GEMM and the MoE layer run over all their tokens at once,
  // attention per sequence. logits holds each slice's rows (all or last) in slice order. Under a
  // parallel layout every rank of the job calls this collectively (an empty batch is allowed).
  // With pipeline stages the batch is cut into one micro-batch per stage (by token count, a long
  // prompt into chunks), so that stage s works on micro-batch m while stage s+1 works on m-1.
  void forward(std::span<const SequenceSlice> batch, std::vector<float>& logits);
  // Seconds per phase since construction; communication (all-reduce, all-gather, all-to-all,
  // pipeline transfers) counted in kComm only.
  PhaseTimes phase_times() const;
  // Routing statistics of the tokens this rank dispatched, always collected.
  const ExpertStats& expert_stats() const { return stats_; }
  ExpertStats& expert_stats() { return stats_; }
  // The online balancer (its layer moves, the placement in service); null without one.
  const balance::OnlineBalancer* online_balancer() const { return balancer_.get(); }

 private:
  // Consecutive tokens of one sequence within a micro-batch; logits wanted for rows [first_logit, n).
  struct Piece {
    std::span<const int32_t> tokens;
    KvCache* cache;
    int64_t first_logit;
  };
  std::vector<std::vector<Piece>> micro_batches(std::span<const SequenceSlice> batch, int64_t n_tokens) const;
  // One micro-batch through this stage; the last stage writes its logits rows at `logits`.
  void run_micro_batch(std::span<const Piece> pieces, float* logits);
  void all_reduce(parallel::Communicator* group, float* data, int64_t n);
  void attention_block(int64_t layer, std::span<const Piece> pieces, int64_t n_tokens);
  // One sequence's attention at `layer` (the layer's heads on this rank and scale), for the step's
  // single attention dispatch.
  kernels::AttentionArgs attention_call(const KvCache& cache, int64_t layer, const float* q, float* out,
                                        int64_t n_tokens, int64_t n_kv_heads, int64_t head_dim) const;
  void mla_attention_block(int64_t layer, std::span<const Piece> pieces, int64_t n_tokens);  // transformer_mla.cpp
  void moe_block(int64_t layer, int64_t n_tokens);
  void dense_block(int64_t layer, int64_t n_tokens);
  // The KV cache geometry: heads and head width per position, values stored or read from the keys.
  struct KvGeometry {
    int64_t heads, head_dim;
    bool values_are_keys;
  };
  KvGeometry kv_geometry() const;
  bool latent_cache() const;
  // Floats per token of q_, attn_, k_ and v_.
  int64_t q_width() const;
  int64_t kv_width() const;
  void norm_whole_projection(float* rows, int64_t n_rows, int64_t width, const std::vector<float>& weight);
  void compute_logits(std::span<const Piece> pieces, float* logits);

  const ModelConfig& config_;
  ThreadPool& pool_;
  Shard shard_;
  ModelWeights weights_;  // this rank's shard
  ParallelGroups groups_;
  std::vector<std::unique_ptr<parallel::Communicator>> owned_groups_;  // single-process groups
  // Norm weights and biases as f32, converted once.
  struct LayerVectors {
    std::vector<float> attn_norm, ffn_norm, q_norm, k_norm, bq, bk, bv, q_a_norm, kv_a_norm;
    RouterConfig router;  // the layer's router with its expert bias tensor
    Tensor uk_t;          // MLA latent cache: per head kv_b's k rows transposed, f32 [heads * kv_lora_rank, nope]
  };
  std::vector<LayerVectors> vectors_;
  std::vector<float> output_norm_;
  std::vector<std::unique_ptr<Experts>> experts_;  // per layer, the local experts
  std::unique_ptr<Dispatcher> dispatcher_;
  const AllToAllDispatcher* all_to_all_ = nullptr;  // dispatcher_ when it is one (statistics)
  std::vector<SlotTable> slot_tables_;              // per layer: expert -> slots
  Routing slot_routing_;                            // the layer's routing with slots for experts
  std::unique_ptr<balance::OnlineBalancer> balancer_;
  // Activations, [n_tokens, width], grown as needed.
  std::vector<float> x_, h_, q_, k_, v_, attn_, router_logits_, moe_out_, expert_out_, shared_out_, gate_buf_, up_buf_;
  std::vector<kernels::AttentionArgs> attention_calls_;     // one per piece of the micro-batch
  std::vector<float> q_a_, kv_a_, kv_, q_latent_, attn_v_;  // MLA
  MlaRope mla_rope_;
  MlaCache mla_cache_ = MlaCache::kLatent;
  ExpertBatch batch_;
  int64_t micro_batch_ = 0;
  kernels::KvDtype kv_dtype_ = kernels::KvDtype::kF32;  // index of the micro-batch in flight, for error messages
  PhaseTimes times_;
  ExpertStats stats_;
};

}  // namespace moe::model
