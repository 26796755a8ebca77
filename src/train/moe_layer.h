// The MoE layer for training, split as DESIGN.md section 2 has it: router (logits = x W_gate^T in
// fp32, optional input jitter, route_forward) -> permute rows by expert -> grouped SwiGLU experts
// -> combine (weighted sum in k order; dropped pairs add nothing), plus an optional shared expert
// times sigmoid(x w_shared_gate) (Qwen2-MoE). Backward walks the same parts in reverse.
// Shapes: T tokens, H hidden, E experts, k = topk, F expert ffn, Fs shared ffn.
// With expert parallelism (config.exchange set) this rank holds only its EP rank's experts: the
// permuted rows travel to the experts' ranks and back (ExpertExchange), forward and backward.
// The permutation and the exchange are inference's (src/moe/token_permutation.h, expert_exchange.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/phase_timer.h"
#include "core/random.h"
#include "core/thread_pool.h"
#include "moe/expert_exchange.h"
#include "moe/token_permutation.h"
#include "train/router_train.h"
#include "train/shared_expert.h"
#include "train/swiglu.h"

namespace moe::train {

struct MoeLayerConfig {
  int64_t hidden = 0;      // H
  int64_t expert_ffn = 0;  // F
  int64_t shared_ffn = 0;  // Fs, 0 = no shared expert
  RouterTrainConfig router;
  int64_t seq_length = 0;              // tokens per sequence (for the sequence-level aux loss)
  ExpertExchange* exchange = nullptr;  // the EP group's exchange; null = every expert is here
  // Where the router sums its aux-loss counts (Megatron's TP x CP group: the ranks holding other
  // positions of the same sequences); null = this rank alone.
  parallel::Communicator* aux_group = nullptr;
  PhaseTimes* times = nullptr;  // where the parts' seconds add up (--profile); null = not timed
};

struct MoeParams {
  const float* router = nullptr;       // [E][H]
  std::vector<SwigluParams> experts;   // E, or this EP rank's experts
  SwigluParams shared{};               // when shared_ffn > 0
  const float* shared_gate = nullptr;  // [1][H] when shared_ffn > 0
  std::span<const float> expert_bias;  // [E] selection-only bias, or empty
};

struct MoeGrads {
  float* router = nullptr;
  std::vector<SwigluGrads> experts;
  SwigluGrads shared{};
  float* shared_gate = nullptr;
};

struct MoeSaved {
  std::vector<float> noise;         // jitter factors [T][H], empty without jitter
  std::vector<float> router_input;  // x * noise [T][H], empty without jitter
  std::vector<float> logits;        // [T][E]
  RouterSaved router;
  RouterTrainOutput routing;
  Permutation perm;
  std::vector<float> rows;        // permuted inputs [R][H]
  std::vector<float> expert_out;  // [R][H]
  ExchangePlan exchange;          // with EP: where the rows went
  std::vector<float> local_rows;  // with EP: the rows this rank's experts ran on, expert-major
  std::vector<float> local_out;   // with EP: their outputs
  SwigluSaved experts;
  SharedExpertSaved shared;
};

// Multiplicative input jitter: n factors uniform in [1 - eps, 1 + eps] from `rng`.
std::vector<float> draw_jitter(Rng& rng, double eps, int64_t n);

// out [T][H] overwritten. noise: [T][H] jitter factors for the router's input, or empty (none).
// The routing (experts, weights, losses, counts) is left in saved.routing.
void moe_forward(float* out, const float* x, int64_t T, const MoeParams& params, const MoeLayerConfig& config,
                 std::vector<float> noise, MoeSaved& saved, ThreadPool* pool);
// dx [T][H] += the input gradient; parameter gradients accumulated into grads. dout is the
// gradient of a loss in which the aux and z losses enter with weight loss_scale (> 0; 1 = as
// they are, 1/N when N micro-batches are averaged).
void moe_backward(float* dx, const MoeGrads& grads, const float* dout, const float* x, int64_t T,
                  const MoeParams& params, const MoeLayerConfig& config, const MoeSaved& saved, float loss_scale,
                  ThreadPool* pool);

}  // namespace moe::train
