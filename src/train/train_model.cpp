// TrainModel forward and backward: the blocks of src/train chained over the residual stream.
// Backward walks the layers in reverse; the residual's gradient dx collects each branch's input
// gradient: dx += norm_backward(branch_backward(dx)).
#include "train/train_model.h"

#include <map>

#include "core/error.h"
#include "train/embedding.h"
#include "train/linear.h"

namespace moe::train {

namespace {

// The config training runs: q/k rows always in HF's rotate-half order (ParamStore's layout).
model::ModelConfig training_config(model::ModelConfig config) {
  config.rope_style = kernels::RopeStyle::kNeox;
  return config;
}

void check_supported(const model::ModelConfig& config, const RouterTrainConfig& router) {
  config.validate();
  router.validate();
  for (int64_t layer = 0; layer < config.n_layers(); ++layer)
    MOE_CHECK(config.layers[layer].ffn.is_moe() && config.layers[layer] == config.layers.front(), ConfigError, "layer ",
              layer, ": training needs every layer alike and MoE (dense or differing layers: not yet)");
  const model::AttentionSpec& attention = config.attention();
  MOE_CHECK(attention.rope && attention.head_dim_v == attention.head_dim, ConfigError,
            "no-RoPE layers and a v head dim other than head_dim are not trained yet");
  const model::FfnSpec& ffn = config.moe();
  MOE_CHECK(ffn.shared_expert_ffn == 0 || ffn.shared_gate == model::SharedExpertGate::kSigmoid, ConfigError,
            "shared experts without a sigmoid gate are not trained yet");
  const RouterConfig& c = ffn.router;
  MOE_CHECK(router.num_experts == c.n_experts, ConfigError, "num_experts: ", router.num_experts, " but the model has ",
            c.n_experts, " experts");
  MOE_CHECK(router.topk == c.top_k, ConfigError, "moe_router_topk: ", router.topk, " but the model routes to ", c.top_k,
            " experts");
  // The saved model must route as it was trained: the options' routing is the model's.
  RouterConfig trained = router.routing();
  trained.expert_bias = c.expert_bias;
  MOE_CHECK(trained == c, ConfigError, "moe_router_score_function / moe_router_pre_softmax: route as ",
            trained.describe(), ", the model as ", c.describe());
}

}  // namespace

TrainModel::TrainModel(const model::ModelConfig& config, const TrainModelOptions& options, ThreadPool* pool)
    : config_(training_config(config)),
      options_(options),
      pool_(pool),
      params_((check_supported(config, options.router), config_),
              ParamShard{.first_expert = options.exchange != nullptr ? options.exchange->first_expert() : 0,
                         .n_experts = options.exchange != nullptr ? options.exchange->local_experts() : -1,
                         .tp_rank = options.tp != nullptr ? options.tp->rank() : 0,
                         .tp_size = options.tp != nullptr ? options.tp->size() : 1}),
      expert_bias_(config.n_layers(),
                   std::vector<float>(options.router.enable_expert_bias ? options.router.num_experts : 0, 0.0f)) {
  MOE_CHECK(options.input_jitter_eps >= 0 && options.input_jitter_eps < 1, ConfigError,
            "moe_input_jitter_eps: must be in [0, 1), got ", options.input_jitter_eps);
  MOE_CHECK(tp_size() == 1 || (options.seq_length > 0 && options.seq_length % tp_size() == 0), ConfigError,
            "seq_length = ", options.seq_length, " is not a multiple of tensor_model_parallel_size = ", tp_size(),
            " (sequence parallelism splits every sequence over the TP ranks)");
}

void TrainModel::load_weights(const model::Model& model) {
  const std::string source = model.path.empty() ? model.name : model.path;
  const model::ModelConfig& c = model.config;
  // Shapes must agree (routing options may differ: training's own are in options_.router).
  auto shapes = [](model::ModelConfig config) {
    config.rope_style = kernels::RopeStyle::kNeox;
    config.max_positions = 0;
    config.rms_eps = 0;
    config.rope_theta = 0;
    for (model::LayerSpec& layer : config.layers) {
      RouterConfig shape_only;
      shape_only.n_experts = layer.ffn.router.n_experts;
      layer.ffn.router = shape_only;
    }
    return config;
  };
  MOE_CHECK(shapes(c) == shapes(config_), ConfigError, source, ": the model's shapes differ from the training model's");
  params_.load(model::weights_to_hf(c, model.weights), source);
}

void TrainModel::init_random(uint64_t seed, std::optional<double> std) {
  params_.init_random(seed, std.value_or(0.02), pool_);
}

void TrainModel::set_expert_bias(const std::vector<std::vector<float>>& bias) {
  MOE_CHECK(bias.size() == expert_bias_.size(), ConfigError, "expert bias: ", bias.size(), " layers, the model has ",
            expert_bias_.size());
  for (size_t layer = 0; layer < bias.size(); ++layer)
    MOE_CHECK(bias[layer].size() == expert_bias_[layer].size(), ConfigError, "expert bias of layer ", layer, ": ",
              bias[layer].size(), " values, expected ", expert_bias_[layer].size());
  expert_bias_ = bias;
}

void TrainModel::update_expert_bias(const std::vector<std::vector<int64_t>>& tokens_per_expert, double rate) {
  MOE_ASSERT(tokens_per_expert.size() == expert_bias_.size());
  for (size_t layer = 0; layer < expert_bias_.size(); ++layer)
    if (!expert_bias_[layer].empty()) train::update_expert_bias(expert_bias_[layer], tokens_per_expert[layer], rate);
}

model::Model TrainModel::to_model(tokenizer::Vocab vocab, model::NamedTensors named) const {
  model::Model m;
  m.name = "trained";
  m.config = config_;
  m.vocab = std::move(vocab);
  std::map<std::string, Tensor> tensors;
  for (auto& [name, tensor] : named) tensors.emplace(name, std::move(tensor));
  m.weights = model::weights_from_hf(config_, tensors, "trained parameters");
  return m;
}

// This rank's heads (all of them without TP) over whole sequences.
AttentionConfig TrainModel::attention_config(int64_t batch, int64_t seq) const {
  const model::AttentionSpec& a = config_.attention();
  return {batch,           seq,       config_.hidden_size, a.n_heads / tp_size(), a.n_kv_heads / tp_size(),
          a.head_dim,      a.scale,   config_.rope_theta,  config_.rope_style,    a.qk_norm,
          config_.rms_eps, a.clip_qkv};
}

// Under TP the shared expert runs outside the MoE layer, on whole sequences (run_forward).
MoeLayerConfig TrainModel::moe_config() const {
  const bool tp = options_.tp != nullptr;
  return {config_.hidden_size, config_.moe().expert_ffn, tp ? 0 : config_.moe().shared_expert_ffn, options_.router,
          seq_ / tp_size(),    options_.exchange,        tp ? &options_.tp->group() : nullptr,     times_};
}

MoeParams TrainModel::moe_params(int64_t layer) const {
  const model::LayerWeights& l = params_.views().layers[layer];
  MoeParams p;
  p.router = l.router.f32();
  for (const ExpertWeights& e : l.experts)
    if (!e.gate.empty()) p.experts.push_back({e.gate.f32(), e.up.f32(), e.down.f32(), options_.bf16});
  if (config_.moe().shared_expert_ffn > 0) {
    p.shared = {l.shared_expert.gate.f32(), l.shared_expert.up.f32(), l.shared_expert.down.f32()};
    p.shared_gate = l.shared_expert_gate.f32();
  }
  p.expert_bias = expert_bias_[layer];
  return p;
}

MoeGrads TrainModel::moe_grads(int64_t layer) {
  const model::LayerWeights& l = params_.views().layers[layer];
  MoeGrads g;
  g.router = params_.grad(l.router);
  for (const ExpertWeights& e : l.experts)
    if (!e.gate.empty()) g.experts.push_back({params_.grad(e.gate), params_.grad(e.up), params_.grad(e.down)});
  if (config_.moe().shared_expert_ffn > 0) {
    g.shared = {params_.grad(l.shared_expert.gate), params_.grad(l.shared_expert.up),
                params_.grad(l.shared_expert.down)};
    g.shared_gate = params_.grad(l.shared_expert_gate);
  }
  return g;
}

namespace {

const float* optional(const Tensor& t) { return t.empty() ? nullptr : t.f32(); }

}  // namespace

LossParts TrainModel::run_forward(std::span<const int32_t> tokens, std::span<const int32_t> targets, int64_t batch,
                                  int64_t seq, Rng* jitter) {
  MOE_CHECK(
      batch > 0 && seq > 0 && static_cast<int64_t>(tokens.size()) == batch * seq && tokens.size() == targets.size(),
      UsageError, "training batch: ", tokens.size(), " tokens and ", targets.size(), " targets for ", batch,
      " sequences of ", seq);
  MOE_CHECK(options_.seq_length == 0 || seq == options_.seq_length, UsageError, "training batch: sequences of ", seq,
            " tokens, the model trains on ", options_.seq_length);
  TensorParallel* tp = options_.tp;
  const int64_t H = config_.hidden_size, V = config_.vocab_size;
  const int64_t T = batch * seq / tp_size();  // rows here
  const model::ModelWeights& w = params_.views();
  batch_ = batch;
  seq_ = seq;
  tokens_ = tp != nullptr ? tp->shard(tokens, batch, seq, 1) : std::vector<int32_t>(tokens.begin(), tokens.end());
  targets_ = tp != nullptr ? tp->shard(targets, batch, seq, 1) : std::vector<int32_t>(targets.begin(), targets.end());
  layers_.resize(config_.n_layers());
  LossParts parts;
  std::vector<float> x(T * H), branch(T * H);
  embedding_forward(x.data(), tokens_, w.token_embd.f32(), V, H);
  const AttentionConfig attention = attention_config(batch, seq);
  const MoeLayerConfig moe = moe_config();
  for (int64_t layer = 0; layer < config_.n_layers(); ++layer) {
    const model::LayerWeights& l = w.layers[layer];
    LayerState& s = layers_[layer];
    s.input = x;
    s.attn_in.resize(T * H);
    rmsnorm_forward(s.attn_in.data(), x.data(), l.attn_norm.f32(), s.attn_norm, T, H, config_.rms_eps, pool_);
    const AttentionParams attention_params{l.wq.f32(),     l.wk.f32(),         l.wv.f32(),
                                           l.wo.f32(),     optional(l.bq),     optional(l.bk),
                                           optional(l.bv), optional(l.q_norm), optional(l.k_norm)};
    if (tp == nullptr) {
      const MaybeScopedPhase timer(times_, Phase::kAttention);
      attention_forward(branch.data(), s.attn_in.data(), attention_params, attention, s.attention, pool_);
    } else {  // this rank's heads over whole sequences, then the heads' sum back to the shards
      const MaybeScopedPhase timer(times_, Phase::kAttention);  // with TP's gather and sum
      s.attn_in_full = tp->gather(s.attn_in.data(), batch, seq, H);
      std::fill(branch.begin(), branch.end(), 0.0f);
      tp->add_summed(branch.data(), batch, seq, H, [&](float* partial) {
        attention_forward(partial, s.attn_in_full.data(), attention_params, attention, s.attention, pool_);
      });
    }
    for (int64_t i = 0; i < T * H; ++i) x[i] += branch[i];
    s.mid = x;
    s.moe_in.resize(T * H);
    rmsnorm_forward(s.moe_in.data(), x.data(), l.ffn_norm.f32(), s.moe_norm, T, H, config_.rms_eps, pool_);
    std::vector<float> noise;
    if (jitter != nullptr && options_.input_jitter_eps > 0) {
      noise = draw_jitter(*jitter, options_.input_jitter_eps, batch * seq * H);  // the micro-batch's draws
      if (tp != nullptr) noise = tp->shard(std::span<const float>(noise), batch, seq, H);
    }
    const MoeParams moe_p = moe_params(layer);
    moe_forward(branch.data(), s.moe_in.data(), T, moe_p, moe, std::move(noise), s.moe, pool_);
    if (tp != nullptr && config_.moe().shared_expert_ffn > 0) {  // this rank's columns over whole sequences
      const MaybeScopedPhase timer(times_, Phase::kSharedExpert);
      s.moe_in_full = tp->gather(s.moe_in.data(), batch, seq, H);
      tp->add_summed(branch.data(), batch, seq, H, [&](float* partial) {
        shared_expert_forward(partial, s.moe_in_full.data(), batch * seq, moe_p.shared, moe_p.shared_gate, H,
                              config_.moe().shared_expert_ffn / tp_size(), s.shared, pool_);
      });
    }
    for (int64_t i = 0; i < T * H; ++i) x[i] += branch[i];
    const RouterTrainOutput& routing = s.moe.routing;
    parts.aux_loss += routing.aux_loss;
    parts.z_loss += routing.z_loss;
    parts.dropped_tokens += routing.dropped;
    parts.expert_tokens.push_back(routing.tokens_per_expert);
  }
  final_in_ = std::move(x);
  const MaybeScopedPhase timer(times_, Phase::kOutput);
  final_normed_.resize(T * H);
  rmsnorm_forward(final_normed_.data(), final_in_.data(), w.output_norm.f32(), final_norm_, T, H, config_.rms_eps,
                  pool_);
  logits_.resize(T * V);
  linear_forward(logits_.data(), final_normed_.data(), w.output.f32(), nullptr, T, H, V, pool_);
  const double shard_mean = cross_entropy_forward(logits_.data(), targets_, V, loss_saved_, pool_);
  // Under TP the loss is the mean over the micro-batch's targets: this rank's share of it.
  double counts = static_cast<double>(loss_saved_.n_targets);
  if (tp != nullptr) tp->group().allreduce_sum(&counts, 1);
  loss_share_ = counts > 0 ? static_cast<double>(loss_saved_.n_targets) / counts : 0.0;
  parts.lm_loss = shard_mean * loss_share_;
  parts.n_targets = loss_saved_.n_targets;
  parts.loss = parts.lm_loss + parts.aux_loss + parts.z_loss;
  return parts;
}

void TrainModel::run_backward(float loss_scale) {
  TensorParallel* tp = options_.tp;
  const int64_t T = batch_ * seq_ / tp_size(), H = config_.hidden_size, V = config_.vocab_size;
  const model::ModelWeights& w = params_.views();
  std::vector<float> d_logits(T * V), d_normed(T * H, 0.0f), dx(T * H, 0.0f), d_branch(T * H);
  {
    const MaybeScopedPhase timer(times_, Phase::kOutput);
    cross_entropy_backward(d_logits.data(), logits_.data(), targets_, V, loss_scale * loss_share_, loss_saved_, pool_);
    linear_backward(d_normed.data(), params_.grad(w.output), nullptr, d_logits.data(), final_normed_.data(),
                    w.output.f32(), T, H, V, pool_);
    rmsnorm_backward(dx.data(), params_.grad(w.output_norm), d_normed.data(), final_in_.data(), w.output_norm.f32(),
                     final_norm_, T, H, pool_);
  }
  const AttentionConfig attention = attention_config(batch_, seq_);
  const MoeLayerConfig moe = moe_config();
  auto grad = [&](const Tensor& t) { return t.empty() ? nullptr : params_.grad(t); };
  for (int64_t layer = config_.n_layers() - 1; layer >= 0; --layer) {
    const model::LayerWeights& l = w.layers[layer];
    const LayerState& s = layers_[layer];
    std::fill(d_branch.begin(), d_branch.end(), 0.0f);
    const MoeParams moe_p = moe_params(layer);
    const MoeGrads moe_g = moe_grads(layer);
    moe_backward(d_branch.data(), moe_g, dx.data(), s.moe_in.data(), T, moe_p, moe, s.moe, loss_scale, pool_);
    if (tp != nullptr && config_.moe().shared_expert_ffn > 0) {
      const MaybeScopedPhase timer(times_, Phase::kSharedExpert);
      const std::vector<float> dout = tp->gather(dx.data(), batch_, seq_, H);
      tp->add_summed(d_branch.data(), batch_, seq_, H, [&](float* partial) {
        shared_expert_backward(partial, moe_g.shared, moe_g.shared_gate, dout.data(), s.moe_in_full.data(),
                               batch_ * seq_, moe_p.shared, moe_p.shared_gate, H,
                               config_.moe().shared_expert_ffn / tp_size(), s.shared, pool_);
      });
    }
    rmsnorm_backward(dx.data(), params_.grad(l.ffn_norm), d_branch.data(), s.mid.data(), l.ffn_norm.f32(), s.moe_norm,
                     T, H, pool_);

    std::fill(d_branch.begin(), d_branch.end(), 0.0f);
    const AttentionParams attention_params{l.wq.f32(),     l.wk.f32(),         l.wv.f32(),
                                           l.wo.f32(),     optional(l.bq),     optional(l.bk),
                                           optional(l.bv), optional(l.q_norm), optional(l.k_norm)};
    const AttentionGrads attention_grads{grad(l.wq), grad(l.wk), grad(l.wv),     grad(l.wo),    grad(l.bq),
                                         grad(l.bk), grad(l.bv), grad(l.q_norm), grad(l.k_norm)};
    if (tp == nullptr) {
      const MaybeScopedPhase timer(times_, Phase::kAttention);
      attention_backward(d_branch.data(), attention_grads, dx.data(), s.attn_in.data(), attention_params, attention,
                         s.attention, pool_);
    } else {
      const MaybeScopedPhase timer(times_, Phase::kAttention);  // with TP's gather and sum
      const std::vector<float> dout = tp->gather(dx.data(), batch_, seq_, H);
      tp->add_summed(d_branch.data(), batch_, seq_, H, [&](float* partial) {
        attention_backward(partial, attention_grads, dout.data(), s.attn_in_full.data(), attention_params, attention,
                           s.attention, pool_);
      });
    }
    rmsnorm_backward(dx.data(), params_.grad(l.attn_norm), d_branch.data(), s.input.data(), l.attn_norm.f32(),
                     s.attn_norm, T, H, pool_);
  }
  embedding_backward(params_.grad(w.token_embd), tokens_, dx.data(), H);
}

LossParts TrainModel::forward_backward(std::span<const int32_t> tokens, std::span<const int32_t> targets, int64_t batch,
                                       int64_t seq, float loss_scale, Rng& jitter) {
  MOE_CHECK(loss_scale > 0, UsageError, "forward_backward: loss scale ", loss_scale, " is not positive");
  LossParts parts = run_forward(tokens, targets, batch, seq, &jitter);
  run_backward(loss_scale);
  return parts;
}

LossParts TrainModel::forward(std::span<const int32_t> tokens, std::span<const int32_t> targets, int64_t batch,
                              int64_t seq, std::vector<float>* logits) {
  LossParts parts = run_forward(tokens, targets, batch, seq, nullptr);
  if (logits != nullptr) *logits = logits_;
  return parts;
}

double TrainModel::evaluate(std::span<const int32_t> tokens, std::span<const int32_t> targets, int64_t batch,
                            int64_t seq) {
  double loss = forward(tokens, targets, batch, seq).lm_loss;
  if (options_.tp != nullptr) options_.tp->group().allreduce_sum(&loss, 1);
  return loss;
}

}  // namespace moe::train
