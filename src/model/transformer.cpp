// Forward pass. Prefill runs the whole prompt as one batch through every GEMM; experts multiply
// only the rows routed to them; decode reads each needed weight once per token. Collectives are
// skipped for groups of one, so one process computes exactly the single-process arithmetic.
#include "model/transformer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include "core/quantize.h"
#include "kernels/activation.h"
#include "kernels/attention/attention.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/matmul_panels.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "moe/all_to_all_dispatcher.h"

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

// The per-token steps between the GEMMs (norms, rotary embedding, residual adds) run on the pool
// in fixed ranges of tokens, so that a prefill's second thread does not wait through them.
constexpr int64_t kTokensPerTask = 16;

// y = rmsnorm(x) * weight for n_tokens rows of `width`.
void rmsnorm_rows(ThreadPool& pool, const float* x, const float* weight, float* y, int64_t n_tokens, int64_t width,
                  float eps) {
  parallel_ranges(&pool, n_tokens, kTokensPerTask, [&](int64_t begin, int64_t end) {
    kernels::rmsnorm(x + begin * width, width, weight, y + begin * width, width, end - begin, width, eps);
  });
}

// x += delta over n_tokens rows of `width` (a residual add).
void add_rows(ThreadPool& pool, float* x, const float* delta, int64_t n_tokens, int64_t width) {
  parallel_ranges(&pool, n_tokens, kTokensPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin * width; i < end * width; ++i) x[i] += delta[i];
  });
}

void clamp(float* values, int64_t n, float limit) {
  for (int64_t i = 0; i < n; ++i) values[i] = std::clamp(values[i], -limit, limit);
}

Shard whole_model(const ModelConfig& c) { return make_shard(c, ShardLayout{}); }

// The slots of every layer: the configured placement, or slot e holding expert e.
balance::Placement slot_placement(const ModelConfig& c, const ParallelGroups& groups) {
  if (groups.placement) return *groups.placement;
  const int64_t ep = groups.moe_ep != nullptr ? groups.moe_ep->size() : 1;
  return balance::identity_placement(c.n_layers(), c.n_experts(), c.n_experts(), ep);
}

// With configured slots, the shard binds the experts of its rank's slots.
Shard with_slots(Shard shard, const ParallelGroups& groups) {
  if (!groups.placement) return shard;
  const balance::Placement& p = *groups.placement;
  const int64_t first = (groups.moe_ep != nullptr ? groups.moe_ep->rank() : 0) * p.slots_per_rank();
  for (const balance::LayerPlacement& layer : p.layers)
    shard.slot_experts.emplace_back(layer.phy2log.begin() + first, layer.phy2log.begin() + first + p.slots_per_rank());
  return shard;
}

// Every matmul weight of `weights` in the kernels' panels where they read them (f32 / f16 / bf16 on
// AVX-512: kernels/matmul/matmul_panels.h), its mapped pages given back: decode streams panels
// at the memory's speed and prefill packs them without transposing.
void with_matmul_panels(ModelWeights& weights, ThreadPool& pool) {
  auto pack = [&pool](Tensor& w) { w = kernels::with_matmul_panels(w, &pool); };
  auto pack_expert = [&pack](ExpertWeights& e) {
    pack(e.gate);
    pack(e.up);
    pack(e.down);
  };
  pack(weights.output);
  for (LayerWeights& l : weights.layers) {
    for (Tensor* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.router, &l.wq_a, &l.wkv_a}) pack(*w);
    for (ExpertWeights& e : l.experts) pack_expert(e);
    pack_expert(l.shared_expert);
    pack_expert(l.dense);
  }
}

constexpr int64_t kDefaultStatsWindow = 16;  // forward steps per statistics window

}  // namespace

Transformer::Transformer(const Model& model, ThreadPool& pool)
    : Transformer(model, pool, whole_model(model.config), ParallelGroups{}) {}

Transformer::Transformer(const Model& model, ThreadPool& pool, const Shard& shard, ParallelGroups groups)
    : config_(model.config),
      pool_(pool),
      shard_(with_slots(shard, groups)),
      weights_(shard_weights(model.config, model.weights, shard_)),
      groups_(groups),
      stats_(model.config.n_layers(), model.config.n_experts(), kDefaultStatsWindow) {
  for (parallel::Communicator** group : {&groups_.attention, &groups_.moe_ep, &groups_.moe_tp, &groups_.pipeline})
    if (*group == nullptr) {
      owned_groups_.push_back(std::make_unique<parallel::Communicator>(parallel::Communicator::single()));
      *group = owned_groups_.back().get();
    }
  with_matmul_panels(weights_, pool_);
  output_norm_ = to_vector(weights_.output_norm);
  vectors_.resize(config_.n_layers());
  experts_.resize(config_.n_layers());
  for (int64_t layer = shard_.layers.begin; layer < shard_.layers.end; ++layer) {
    const AttentionSpec& a = config_.layers[layer].attention;
    const FfnSpec& f = config_.layers[layer].ffn;
    MOE_CHECK(a.kind == AttentionKind::kMla || a.head_dim_v == a.head_dim, ConfigError, "layer ", layer,
              ": v_head_dim ", a.head_dim_v, " differs from head_dim ", a.head_dim,
              ", which GQA attention does not support");
    const LayerWeights& l = weights_.layers[layer];
    LayerVectors& v = vectors_[layer];
    v = {to_vector(l.attn_norm),
         to_vector(l.ffn_norm),
         to_vector(l.q_norm),
         to_vector(l.k_norm),
         to_vector(l.bq),
         to_vector(l.bk),
         to_vector(l.bv),
         to_vector(l.q_a_norm),
         to_vector(l.kv_a_norm),
         f.router,
         mla_absorbed_uk(a, l.wkv_b)};
    if (!l.router_bias.empty()) v.router.expert_bias = l.router_bias.to_f32();
    if (f.is_moe()) experts_[layer] = std::make_unique<Experts>(l.experts);
  }
  const AttentionSpec& a = config_.attention();
  if (a.kind == AttentionKind::kMla) mla_rope_ = mla_rope(a.rope_dim, config_.rope_theta, config_.rope_scaling);
  const balance::Placement placement = slot_placement(config_, groups_);
  for (const balance::LayerPlacement& layer : placement.layers)
    slot_tables_.emplace_back(layer, placement.slots_per_rank(), groups_.replicas_local_first);
  // Dispatchers work on slots: rows go to the rank of each assignment's slot.
  if (groups_.moe_ep->size() > 1) {
    auto all_to_all =
        std::make_unique<AllToAllDispatcher>(*groups_.moe_ep, placement.num_slots, groups_.check_dispatch);
    all_to_all_ = all_to_all.get();
    dispatcher_ = std::move(all_to_all);
  } else {
    dispatcher_ = std::make_unique<LocalDispatcher>(placement.num_slots, &pool_);
  }
  if (groups_.online) {
    for (const LayerSpec& layer : config_.layers)
      MOE_CHECK(layer.ffn.is_moe(), ConfigError,
                "moe_load_balancer: update_interval (online EPLB) does not support dense layers yet (",
                arch_name(config_.arch), "); use a static placement");
    balancer_ = std::make_unique<balance::OnlineBalancer>(*groups_.online, *groups_.moe_ep, placement,
                                                          shard_.layers.begin, shard_.layers.end);
  }
}

Transformer::~Transformer() = default;

kernels::AttentionArgs Transformer::attention_call(const KvCache& cache, int64_t layer, const float* q, float* out,
                                                   int64_t n_tokens, int64_t n_kv_heads, int64_t head_dim) const {
  kernels::AttentionArgs args = cache.attention_args(layer);
  args.q = q;
  args.out = out;
  args.n_tokens = n_tokens;
  args.n_heads = shard_.heads.size();
  args.n_kv_heads = n_kv_heads;
  args.head_dim = head_dim;
  args.scale = config_.layers[layer].attention.scale;
  return args;
}

void Transformer::all_reduce(parallel::Communicator* group, float* data, int64_t n) {
  if (group->size() == 1) return;
  ScopedPhase timer(times_, Phase::kComm);
  group->allreduce_sum(data, n);
}

PhaseTimes Transformer::phase_times() const {
  PhaseTimes times = times_;
  if (all_to_all_ != nullptr) {
    const PhaseTimes& comm = all_to_all_->stats().comm;
    for (Phase phase : {Phase::kDispatch, Phase::kCombine}) {
      times[phase] -= comm.seconds[static_cast<size_t>(phase)];
      times[Phase::kComm] += comm.seconds[static_cast<size_t>(phase)];
    }
  }
  return times;
}

KvCache Transformer::make_cache(int64_t capacity) const {
  return KvCache(make_pool((capacity + kKvBlockPositions - 1) / kKvBlockPositions), capacity);
}

bool Transformer::latent_cache() const {
  return config_.attention().kind == AttentionKind::kMla && mla_cache_ == MlaCache::kLatent;
}

Transformer::KvGeometry Transformer::kv_geometry() const {
  const AttentionSpec& a = config_.attention();
  if (latent_cache()) return {1, a.kv_lora_rank + a.rope_dim, true};
  return {shard_.kv_heads.size(), a.head_dim, false};  // MLA decompressed: v padded to head_dim
}

int64_t Transformer::q_width() const {
  const AttentionSpec& a = config_.attention();
  return shard_.heads.size() * (latent_cache() ? a.kv_lora_rank + a.rope_dim : a.head_dim);
}

int64_t Transformer::kv_width() const { return kv_geometry().heads * kv_geometry().head_dim; }

std::unique_ptr<KvPool> Transformer::make_pool(int64_t n_blocks) const {
  const KvGeometry g = kv_geometry();
  return std::make_unique<KvPool>(shard_.layers.begin, shard_.layers.size(), n_blocks, g.heads, g.head_dim, kv_dtype_,
                                  g.values_are_keys);
}

int64_t Transformer::kv_block_bytes() const {
  const KvGeometry g = kv_geometry();
  return KvPool::block_bytes(shard_.layers.size(), g.heads, g.head_dim, kv_dtype_, g.values_are_keys);
}

int64_t Transformer::kv_bytes_per_token() const { return kv_block_bytes() / kKvBlockPositions; }

// RMSNorm over a projection split across the attention group (OLMoE's q/k norm): the sum of
// squares is reduced over the group, each rank scales its slice.
void Transformer::norm_whole_projection(float* rows, int64_t n_rows, int64_t width, const std::vector<float>& weight) {
  parallel::Communicator* group = groups_.attention;
  if (group->size() == 1) {
    kernels::rmsnorm(rows, width, weight.data(), rows, width, n_rows, width, config_.rms_eps);
    return;
  }
  std::vector<double> sum_sq(n_rows, 0.0);
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t i = 0; i < width; ++i) sum_sq[r] += static_cast<double>(rows[r * width + i]) * rows[r * width + i];
  {
    ScopedPhase timer(times_, Phase::kComm);
    group->allreduce_sum(sum_sq.data(), n_rows);
  }
  const int64_t full_width = width * group->size();
  for (int64_t r = 0; r < n_rows; ++r) {
    const float scale = static_cast<float>(1.0 / std::sqrt(sum_sq[r] / full_width + config_.rms_eps));
    for (int64_t i = 0; i < width; ++i) rows[r * width + i] = rows[r * width + i] * scale * weight[i];
  }
}

void Transformer::attention_block(int64_t layer, std::span<const Piece> pieces, int64_t n_tokens) {
  const double comm_before = times_[Phase::kComm];
  const auto start = std::chrono::steady_clock::now();
  const LayerWeights& l = weights_.layers[layer];
  const LayerVectors& vec = vectors_[layer];
  const AttentionSpec& spec = config_.layers[layer].attention;
  const int64_t H = config_.hidden_size, head_dim = spec.head_dim;
  const int64_t n_heads = shard_.heads.size(), n_kv_heads = shard_.kv_heads.size();
  const int64_t q_dim = n_heads * head_dim, kv_dim = n_kv_heads * head_dim;

  rmsnorm_rows(pool_, x_.data(), vec.attn_norm.data(), h_.data(), n_tokens, H, config_.rms_eps);
  kernels::matmul(l.wq, {h_.data(), H, q_.data(), q_dim, n_tokens}, &pool_);
  kernels::matmul(l.wk, {h_.data(), H, k_.data(), kv_dim, n_tokens}, &pool_);
  kernels::matmul(l.wv, {h_.data(), H, v_.data(), kv_dim, n_tokens}, &pool_);
  add_bias(q_.data(), vec.bq, n_tokens);
  add_bias(k_.data(), vec.bk, n_tokens);
  add_bias(v_.data(), vec.bv, n_tokens);
  if (spec.qk_norm == QkNorm::kWhole) {
    norm_whole_projection(q_.data(), n_tokens, q_dim, vec.q_norm);
    norm_whole_projection(k_.data(), n_tokens, kv_dim, vec.k_norm);
  } else if (spec.qk_norm == QkNorm::kPerHead) {
    kernels::rmsnorm(q_.data(), head_dim, vec.q_norm.data(), q_.data(), head_dim, n_tokens * n_heads, head_dim,
                     config_.rms_eps);
    kernels::rmsnorm(k_.data(), head_dim, vec.k_norm.data(), k_.data(), head_dim, n_tokens * n_kv_heads, head_dim,
                     config_.rms_eps);
  }
  if (spec.clip_qkv) {
    clamp(q_.data(), n_tokens * q_dim, *spec.clip_qkv);
    clamp(k_.data(), n_tokens * kv_dim, *spec.clip_qkv);
    clamp(v_.data(), n_tokens * kv_dim, *spec.clip_qkv);
  }
  int64_t row = 0;
  attention_calls_.clear();
  for (const Piece& piece : pieces) {
    KvCache& cache = *piece.cache;
    const int64_t first = cache.length(), n = static_cast<int64_t>(piece.tokens.size());
    float* q = q_.data() + row * q_dim;
    float* k = k_.data() + row * kv_dim;
    if (spec.rope)
      parallel_ranges(&pool_, n, kTokensPerTask, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          kernels::rope_apply(q + t * q_dim, n_heads, head_dim, first + t, config_.rope_theta, config_.rope_style);
          kernels::rope_apply(k + t * kv_dim, n_kv_heads, head_dim, first + t, config_.rope_theta, config_.rope_style);
        }
      });
    cache.store(layer, first, n, k, v_.data() + row * kv_dim);
    attention_calls_.push_back(attention_call(cache, layer, q, attn_.data() + row * q_dim, n, n_kv_heads, head_dim));
    row += n;
  }
  kernels::attention(attention_calls_, &pool_);
  kernels::matmul(l.wo, {attn_.data(), q_dim, h_.data(), H, n_tokens}, &pool_);
  all_reduce(groups_.attention, h_.data(), n_tokens * H);
  add_rows(pool_, x_.data(), h_.data(), n_tokens, H);
  // Attention time excludes the communication inside it, counted in kComm.
  times_[Phase::kAttention] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() -
                               (times_[Phase::kComm] - comm_before);
}

void Transformer::moe_block(int64_t layer, int64_t n_tokens) {
  const LayerWeights& l = weights_.layers[layer];
  const FfnSpec& spec = config_.layers[layer].ffn;
  const int64_t H = config_.hidden_size, n_experts = spec.router.n_experts;
  std::optional<ScopedPhase> phase(std::in_place, times_, Phase::kRouter);
  rmsnorm_rows(pool_, x_.data(), vectors_[layer].ffn_norm.data(), h_.data(), n_tokens, H, config_.rms_eps);

  // Under attention TP every rank of the group holds every token: each moe_ep rank dispatches its
  // share of them and the combined rows are gathered back. Under attention DP a rank owns its own.
  parallel::Communicator& ep = *groups_.moe_ep;
  const bool split_tokens = !groups_.attention_dp && ep.size() > 1;
  const int64_t own_begin = split_tokens ? n_tokens * ep.rank() / ep.size() : 0;
  const int64_t own_end = split_tokens ? n_tokens * (ep.rank() + 1) / ep.size() : n_tokens;
  const int64_t n_own = own_end - own_begin;
  const float* own_hidden = h_.data() + own_begin * H;

  kernels::matmul(l.router, {own_hidden, H, router_logits_.data(), n_experts, n_own}, &pool_);
  const Routing routing = route(router_logits_.data(), n_own, vectors_[layer].router);
  stats_.record(layer, routing);
  slot_tables_[layer].to_slots(routing, ep.rank(), slot_routing_);
  dispatcher_->set_location("layer " + std::to_string(layer) + ", micro-batch " + std::to_string(micro_batch_));
  phase.emplace(times_, Phase::kDispatch);
  dispatcher_->dispatch(own_hidden, H, slot_routing_, batch_);
  if (all_to_all_ != nullptr) stats_.record_received(layer, all_to_all_->stats().rows_received);
  phase.emplace(times_, Phase::kExperts);
  grow(expert_out_, batch_.n_rows() * H);
  experts_[layer]->forward(batch_, expert_out_.data(), &pool_);
  phase.emplace(times_, Phase::kCombine);
  float* own_out = moe_out_.data() + own_begin * H;
  dispatcher_->combine(batch_, expert_out_.data(), slot_routing_, own_out);
  phase.reset();
  all_reduce(groups_.moe_tp, own_out, n_own * H);
  if (split_tokens) {
    ScopedPhase timer(times_, Phase::kComm);
    std::vector<float> gathered;
    std::vector<int64_t> counts;
    ep.allgatherv(own_out, n_own * H, gathered, counts);
    std::memcpy(moe_out_.data(), gathered.data(), n_tokens * H * sizeof(float));
  }

  if (spec.shared_expert_ffn > 0) {
    phase.emplace(times_, Phase::kSharedExpert);
    swiglu_ffn(l.shared_expert, h_.data(), n_tokens, shared_out_.data(), gate_buf_, up_buf_, &pool_);
    phase.reset();
    all_reduce(groups_.attention, shared_out_.data(), n_tokens * H);
    std::vector<float> gate(n_tokens, 1.0f);
    if (spec.shared_gate == SharedExpertGate::kSigmoid) {
      kernels::matmul(l.shared_expert_gate, {h_.data(), H, gate.data(), 1, n_tokens}, &pool_);
      for (float& g : gate) g = kernels::sigmoid(g);
    }
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float g = gate[t];
      for (int64_t i = 0; i < H; ++i) moe_out_[t * H + i] += g * shared_out_[t * H + i];
    }
  }
  add_rows(pool_, x_.data(), moe_out_.data(), n_tokens, H);
}

// A dense SwiGLU FFN layer (DeepSeek's first layers), whole on every rank.
void Transformer::dense_block(int64_t layer, int64_t n_tokens) {
  const int64_t H = config_.hidden_size;
  ScopedPhase timer(times_, Phase::kExperts);  // counted with the experts in the profile
  rmsnorm_rows(pool_, x_.data(), vectors_[layer].ffn_norm.data(), h_.data(), n_tokens, H, config_.rms_eps);
  swiglu_ffn(weights_.layers[layer].dense, h_.data(), n_tokens, moe_out_.data(), gate_buf_, up_buf_, &pool_);
  add_rows(pool_, x_.data(), moe_out_.data(), n_tokens, H);
}

void Transformer::forward(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits,
                          bool all_logits) {
  const SequenceSlice slice{tokens, &cache, all_logits};
  forward(std::span<const SequenceSlice>(&slice, 1), logits);
}

void Transformer::compute_logits(std::span<const Piece> pieces, float* logits) {
  ScopedPhase timer(times_, Phase::kOutput);
  const int64_t H = config_.hidden_size, vocab = config_.vocab_size;
  // Gather the rows that need logits, then one output GEMM over them.
  int64_t row = 0, out_row = 0;
  for (const Piece& piece : pieces) {
    const int64_t n = static_cast<int64_t>(piece.tokens.size());
    kernels::rmsnorm(x_.data() + (row + piece.first_logit) * H, H, output_norm_.data(), h_.data() + out_row * H, H,
                     n - piece.first_logit, H, config_.rms_eps);
    out_row += n - piece.first_logit;
    row += n;
  }
  kernels::matmul(weights_.output, {h_.data(), H, logits, vocab, out_row}, &pool_);
}

std::vector<std::vector<Transformer::Piece>> Transformer::micro_batches(std::span<const SequenceSlice> batch,
                                                                        int64_t n_tokens) const {
  const int64_t n_micro = groups_.pipeline->size();
  std::vector<std::vector<Piece>> result(n_micro);
  const int64_t per_micro = (n_tokens + n_micro - 1) / n_micro;
  int64_t micro = 0, filled = 0;
  for (const SequenceSlice& slice : batch) {
    const int64_t n = static_cast<int64_t>(slice.tokens.size());
    const int64_t first_logit = slice.all_logits ? 0 : n - 1;
    for (int64_t begin = 0; begin < n;) {
      if (filled == per_micro) {
        ++micro;
        filled = 0;
      }
      const int64_t take = std::min(n - begin, per_micro - filled);
      // Logit rows of this chunk, relative to the chunk: rows >= first_logit of the sequence.
      const int64_t chunk_first_logit = std::clamp<int64_t>(first_logit - begin, 0, take);
      result[micro].push_back({slice.tokens.subspan(begin, take), slice.cache, chunk_first_logit});
      begin += take;
      filled += take;
    }
  }
  return result;
}

void Transformer::run_micro_batch(std::span<const Piece> pieces, float* logits) {
  const int64_t H = config_.hidden_size, vocab = config_.vocab_size;
  int64_t n_tokens = 0;
  for (const Piece& piece : pieces) n_tokens += static_cast<int64_t>(piece.tokens.size());
  parallel::Communicator& pipeline = *groups_.pipeline;
  if (shard_.first_stage) {
    const Tensor& embd = weights_.token_embd;
    int64_t row = 0;
    for (const Piece& piece : pieces)
      for (const int32_t token : piece.tokens) {
        MOE_CHECK(token >= 0 && token < vocab, UsageError, "token id ", token, " is outside the vocabulary of ", vocab);
        dequantize_row(embd.dtype(), embd.row(token), x_.data() + row++ * H, H);
      }
  } else {
    ScopedPhase timer(times_, Phase::kComm);
    pipeline.recv(x_.data(), n_tokens * H, pipeline.rank() - 1, parallel::MessageTag::kPipelineActivations);
  }
  for (int64_t layer = shard_.layers.begin; layer < shard_.layers.end; ++layer) {
    if (config_.layers[layer].attention.kind == AttentionKind::kMla)
      mla_attention_block(layer, pieces, n_tokens);
    else
      attention_block(layer, pieces, n_tokens);
    if (config_.layers[layer].ffn.is_moe())
      moe_block(layer, n_tokens);
    else
      dense_block(layer, n_tokens);
  }
  if (!shard_.last_stage) {
    ScopedPhase timer(times_, Phase::kComm);
    pipeline.send(x_.data(), n_tokens * H, pipeline.rank() + 1, parallel::MessageTag::kPipelineActivations);
  } else {
    compute_logits(pieces, logits);
  }
  for (const Piece& piece : pieces) piece.cache->advance(static_cast<int64_t>(piece.tokens.size()));
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
  grow(q_, n_tokens * q_width());
  grow(attn_, n_tokens * q_width());
  grow(k_, n_tokens * kv_width());
  grow(v_, n_tokens * kv_width());
  if (const AttentionSpec& a = config_.attention(); a.kind == AttentionKind::kMla) {
    const int64_t heads = shard_.heads.size();
    grow(q_, n_tokens * heads * a.head_dim);  // q before the absorption
    grow(q_a_, n_tokens * a.q_lora_rank);
    grow(kv_a_, n_tokens * (a.kv_lora_rank + a.rope_dim));
    grow(kv_, n_tokens * heads * (a.nope_dim() + a.head_dim_v));
    grow(attn_v_, n_tokens * heads * a.head_dim_v);
    if (latent_cache()) grow(q_latent_, n_tokens * q_width());
  }
  grow(router_logits_, n_tokens * config_.n_experts());
  logits.resize(n_logit_rows * vocab);

  int64_t logit_row = 0;
  micro_batch_ = 0;
  for (const std::vector<Piece>& micro : micro_batches(batch, n_tokens)) {
    run_micro_batch(micro, logits.data() + logit_row * vocab);
    ++micro_batch_;
    for (const Piece& piece : micro) logit_row += static_cast<int64_t>(piece.tokens.size()) - piece.first_logit;
  }
  parallel::Communicator& pipeline = *groups_.pipeline;
  if (pipeline.size() > 1) {
    ScopedPhase timer(times_, Phase::kComm);
    pipeline.broadcast(logits.data(), static_cast<int64_t>(logits.size() * sizeof(float)), pipeline.size() - 1);
  }
  stats_.end_step();
  if (balancer_) balancer_->end_step(stats_, slot_tables_, experts_);
}

}  // namespace moe::model
