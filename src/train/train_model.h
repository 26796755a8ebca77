// TrainModel: an MoE transformer (Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE) in fp32 for training (in
// one process, or one EP rank holding its experts): forward with everything backward needs kept, backward accumulating
// into per-parameter gradient buffers named as the HF checkpoint names them. Per layer: RMSNorm -> attention (RoPE,
// GQA, optional qkv bias, q/k norms, clip_qkv) -> residual -> RMSNorm -> MoE layer (router with jitter, aux and z
// losses, capacity; permute -> grouped experts -> combine; optional gated shared expert) -> residual; then the final
// RMSNorm, the output projection and the cross-entropy. Total loss = cross-entropy + each layer's aux and z losses
// (coefficients already applied by the router). With tensor parallelism (options.tp) the model holds its TP rank's
// heads and shared-expert columns and runs on its sequence shard (tensor_parallel.h); the losses it returns are then
// this rank's parts, which sum over the TP group to the micro-batch's (Megatron's aux-loss and z-loss split), and
// logits are the shard's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/phase_timer.h"
#include "core/random.h"
#include "core/thread_pool.h"
#include "model/model.h"
#include "train/attention.h"
#include "train/cross_entropy.h"
#include "train/moe_layer.h"
#include "train/param_store.h"
#include "train/rmsnorm.h"
#include "train/router_train.h"
#include "train/tensor_parallel.h"

namespace moe::train {

struct TrainModelOptions {
  RouterTrainConfig router;       // the router's training options (Megatron-Core keys)
  double input_jitter_eps = 0.0;  // moe_input_jitter_eps: router input times U[1-eps, 1+eps] (0 = off)
  int64_t seq_length = 0;         // tokens per training sequence; batches must have it when > 0
  // Expert parallelism: the EP group's exchange; the model then holds only that rank's experts.
  ExpertExchange* exchange = nullptr;
  // Tensor + sequence parallelism: the TP group; seq_length must be a multiple of its size.
  TensorParallel* tp = nullptr;
  // bf16: true: the expert GEMMs multiply bf16-rounded inputs (AVX-512 BF16 where present) with f32
  // sums; parameters, gradients and optimizer state stay f32.
  bool bf16 = false;
};

struct LossParts {
  double loss = 0.0;                                // lm_loss + aux_loss + z_loss
  double lm_loss = 0.0;                             // mean cross-entropy over the tokens with a target
  double aux_loss = 0.0;                            // summed over layers
  double z_loss = 0.0;                              // summed over layers
  int64_t n_targets = 0;                            // tokens with a target (target >= 0)
  int64_t dropped_tokens = 0;                       // dropped (token, expert) pairs, all layers
  std::vector<std::vector<int64_t>> expert_tokens;  // [layer][expert] kept assignments
};

class TrainModel {
 public:
  // Zero parameters (then init_random or load_weights). The config's q/k rows are taken in HF's
  // rotate-half order. Throws ConfigError for router options that route differently from the
  // model config.
  TrainModel(const model::ModelConfig& config, const TrainModelOptions& options, ThreadPool* pool = nullptr);
  TrainModel(const TrainModel&) = delete;
  TrainModel& operator=(const TrainModel&) = delete;

  const model::ModelConfig& config() const { return config_; }
  // Parameters from a loaded model of the same config, any dtype (dequantised to f32; q/k rows of
  // a llama-arch GGUF returned to HF's rotate-half order).
  void load_weights(const model::Model& model);
  // Fresh parameters from (seed, tensor name): norms 1, biases 0, the rest N(0, std); unset std =
  // 0.02 (Megatron-Core's init_method_std).
  void init_random(uint64_t seed, std::optional<double> std);
  // Every held parameter (HF name, value, gradient), in HF file order, for the optimizer; or
  // only the dense ones or only the routed experts'.
  std::vector<ParamRef> params(ParamStore::Part part = ParamStore::Part::kAll) { return params_.params(part); }
  void zero_grad() { params_.zero_grad(); }
  // The held parameters as HF-named f32 tensors, and as a model::Model (with `vocab`) that
  // model::save_model writes as an HF directory or a GGUF file; under EP, to_model takes every
  // tensor (the held ones and the other ranks' experts).
  model::NamedTensors named_tensors() const { return params_.named_tensors(); }
  // The TP block of the parameter called `name` (whole when not split).
  TensorSlice slice(const std::string& name) const { return params_.slice(name); }
  // Every role as an f32 view of its held parameter (other EP ranks' experts empty).
  const model::ModelWeights& views() const { return params_.views(); }
  model::Model to_model(tokenizer::Vocab vocab) const { return to_model(std::move(vocab), named_tensors()); }
  model::Model to_model(tokenizer::Vocab vocab, model::NamedTensors tensors) const;

  // Selection-only expert biases (aux-loss-free balancing): [layer][E], empty rows when the
  // router has no expert bias.
  const std::vector<std::vector<float>>& expert_bias() const { return expert_bias_; }
  void set_expert_bias(const std::vector<std::vector<float>>& bias);
  // DeepSeek-V3's update after a global batch, from its kept assignments [layer][expert].
  void update_expert_bias(const std::vector<std::vector<int64_t>>& tokens_per_expert, double rate);

  // tokens, targets: [batch][seq] row-major; target < 0 = no target at that position. Forward
  // (router input jitter drawn from `jitter`) then backward, adding loss_scale times the
  // gradient of LossParts::loss to the parameters' gradient buffers (1/N to average N
  // micro-batches).
  LossParts forward_backward(std::span<const int32_t> tokens, std::span<const int32_t> targets, int64_t batch,
                             int64_t seq, float loss_scale, Rng& jitter);
  // Forward only, without jitter; logits [batch * seq][vocab] when asked.
  LossParts forward(std::span<const int32_t> tokens, std::span<const int32_t> targets, int64_t batch, int64_t seq,
                    std::vector<float>* logits = nullptr);
  // The cross-entropy of a forward (evaluation loss; summed over the TP group).
  double evaluate(std::span<const int32_t> tokens, std::span<const int32_t> targets, int64_t batch, int64_t seq);
  // Where the blocks' seconds add up from now on (attention, the MoE layer's parts, the shared
  // expert, the output and loss), or null: not timed.
  void set_phase_times(PhaseTimes* times) { times_ = times; }

 private:
  // T rows: the micro-batch's, or under TP this rank's sequence shard.
  struct LayerState {
    std::vector<float> input;    // residual stream entering the layer [T][H]
    std::vector<float> attn_in;  // input_layernorm output
    std::vector<float> mid;      // residual after attention
    std::vector<float> moe_in;   // post_attention_layernorm output
    RmsNormSaved attn_norm, moe_norm;
    AttentionSaved attention;
    MoeSaved moe;
    // TP only: the gathered inputs of attention and the shared expert [B * S][H], and the latter.
    std::vector<float> attn_in_full, moe_in_full;
    SharedExpertSaved shared;
  };
  // jitter null: no input jitter.
  LossParts run_forward(std::span<const int32_t> tokens, std::span<const int32_t> targets, int64_t batch, int64_t seq,
                        Rng* jitter);
  void run_backward(float loss_scale);
  AttentionConfig attention_config(int64_t batch, int64_t seq) const;
  MoeLayerConfig moe_config() const;
  int tp_size() const { return options_.tp != nullptr ? options_.tp->size() : 1; }
  MoeParams moe_params(int64_t layer) const;
  MoeGrads moe_grads(int64_t layer);

  model::ModelConfig config_;
  TrainModelOptions options_;
  ThreadPool* pool_;
  PhaseTimes* times_ = nullptr;
  ParamStore params_;
  std::vector<std::vector<float>> expert_bias_;
  // Activations of the last forward; the tokens and targets of this rank's rows.
  int64_t batch_ = 0, seq_ = 0;
  std::vector<int32_t> tokens_, targets_;
  double loss_share_ = 1.0;  // this rank's targets / the micro-batch's (TP)
  std::vector<LayerState> layers_;
  std::vector<float> final_in_, final_normed_, logits_;
  RmsNormSaved final_norm_;
  CrossEntropySaved loss_saved_;
};

}  // namespace moe::train
