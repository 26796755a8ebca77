// MoE layer forward/backward. Backward:
//   combine:  d_expert_out[row] = w_pair dout[t],  d_w[pair] = dout[t] . expert_out[row]
//   experts:  SwiGLU backward per expert over its rows; permute: dx[t] += d_rows of t (k order)
//   router:   d_logits = s route_backward(d_w / s), which adds the aux and z losses' gradients
//             with weight s (the loss scale) to the one through the weights; d_W_gate += d_logits^T x_j,
//             dx += (d_logits W_gate) * noise   (x_j = x * noise, the jittered input)
//   shared:   see shared_expert.h
#include "train/moe_layer.h"

#include <optional>

#include "core/error.h"
#include "train/linear.h"

namespace moe::train {

std::vector<float> draw_jitter(Rng& rng, double eps, int64_t n) {
  std::vector<float> noise(n);
  for (float& value : noise) value = static_cast<float>(1.0 - eps + 2.0 * eps * rng.uniform());
  return noise;
}

void moe_forward(float* out, const float* x, int64_t T, const MoeParams& params, const MoeLayerConfig& config,
                 std::vector<float> noise, MoeSaved& saved, ThreadPool* pool) {
  const int64_t H = config.hidden, E = config.router.num_experts, k = config.router.topk;
  const int64_t held = config.exchange != nullptr ? config.exchange->local_experts() : E;
  MOE_CHECK(static_cast<int64_t>(params.experts.size()) == held, ConfigError, "moe layer: ", params.experts.size(),
            " experts but ", held, " expected here (num_experts = ", E, ")");
  MOE_ASSERT(noise.empty() || static_cast<int64_t>(noise.size()) == T * H);
  saved.noise = std::move(noise);
  const float* router_input = x;
  if (!saved.noise.empty()) {
    saved.router_input.resize(T * H);
    for (int64_t i = 0; i < T * H; ++i) saved.router_input[i] = x[i] * saved.noise[i];
    router_input = saved.router_input.data();
  } else {
    saved.router_input.clear();
  }
  {
    const MaybeScopedPhase timer(config.times, Phase::kRouter);
    saved.logits.resize(T * E);
    linear_forward(saved.logits.data(), router_input, params.router, nullptr, T, H, E, pool);
    saved.routing = route_forward(saved.logits, T, config.router, params.expert_bias, config.seq_length,
                                  config.aux_group, &saved.router);
  }

  {
    const MaybeScopedPhase timer(config.times, Phase::kDispatch);
    plan_permutation(saved.routing.experts, T, k, E, saved.perm);
    const int64_t R = saved.perm.n_rows();
    saved.rows.resize(R * H);
    saved.expert_out.resize(R * H);
    permute_forward(saved.rows.data(), x, saved.perm, H, pool);
  }
  if (config.exchange == nullptr) {
    const MaybeScopedPhase timer(config.times, Phase::kExperts);
    swiglu_forward(saved.expert_out.data(), saved.rows.data(), saved.perm.offsets, params.experts, H, config.expert_ffn,
                   saved.experts, pool);
  } else {
    ExpertExchange& ep = *config.exchange;
    {
      const MaybeScopedPhase timer(config.times, Phase::kComm);
      ep.plan(saved.perm.offsets, saved.exchange);
      ep.dispatch(saved.exchange, saved.rows.data(), H, saved.local_rows);
    }
    {
      const MaybeScopedPhase timer(config.times, Phase::kExperts);
      saved.local_out.resize(saved.local_rows.size());
      swiglu_forward(saved.local_out.data(), saved.local_rows.data(), saved.exchange.offsets, params.experts, H,
                     config.expert_ffn, saved.experts, pool);
    }
    const MaybeScopedPhase timer(config.times, Phase::kComm);
    ep.combine(saved.exchange, saved.local_out.data(), H, saved.expert_out);
  }
  {
    const MaybeScopedPhase timer(config.times, Phase::kCombine);
    combine_forward(out, saved.expert_out.data(), saved.routing.weights, saved.perm, H, pool);
  }

  if (config.shared_ffn > 0) {
    const MaybeScopedPhase timer(config.times, Phase::kSharedExpert);
    shared_expert_forward(out, x, T, params.shared, params.shared_gate, H, config.shared_ffn, saved.shared, pool);
  }
}

void moe_backward(float* dx, const MoeGrads& grads, const float* dout, const float* x, int64_t T,
                  const MoeParams& params, const MoeLayerConfig& config, const MoeSaved& saved, float loss_scale,
                  ThreadPool* pool) {
  MOE_ASSERT(loss_scale > 0);
  const int64_t H = config.hidden, E = config.router.num_experts, k = config.router.topk;
  const int64_t R = saved.perm.n_rows();
  std::vector<float> d_expert_out(R * H), d_weights(T * k), d_rows(R * H, 0.0f);
  {
    const MaybeScopedPhase timer(config.times, Phase::kCombine);
    combine_backward(d_expert_out.data(), d_weights, dout, saved.expert_out.data(), saved.routing.weights, saved.perm,
                     H);
  }
  if (config.exchange == nullptr) {
    const MaybeScopedPhase timer(config.times, Phase::kExperts);
    swiglu_backward(d_rows.data(), grads.experts, d_expert_out.data(), saved.rows.data(), saved.perm.offsets,
                    params.experts, H, config.expert_ffn, saved.experts, pool);
  } else {
    ExpertExchange& ep = *config.exchange;
    std::vector<float> d_local_out, d_local_rows(saved.local_rows.size(), 0.0f);
    {
      const MaybeScopedPhase timer(config.times, Phase::kComm);
      ep.dispatch(saved.exchange, d_expert_out.data(), H, d_local_out);
    }
    {
      const MaybeScopedPhase timer(config.times, Phase::kExperts);
      swiglu_backward(d_local_rows.data(), grads.experts, d_local_out.data(), saved.local_rows.data(),
                      saved.exchange.offsets, params.experts, H, config.expert_ffn, saved.experts, pool);
    }
    const MaybeScopedPhase timer(config.times, Phase::kComm);
    ep.combine(saved.exchange, d_local_rows.data(), H, d_rows);
  }
  {
    const MaybeScopedPhase timer(config.times, Phase::kDispatch);
    permute_backward(dx, d_rows.data(), saved.perm, H);
  }

  std::optional<MaybeScopedPhase> router_timer(std::in_place, config.times, Phase::kRouter);
  std::vector<float> d_logits(T * E);
  if (loss_scale != 1.0f)
    for (float& d : d_weights) d /= loss_scale;
  route_backward(saved.router, config.router, d_weights, d_logits);
  if (loss_scale != 1.0f)
    for (float& d : d_logits) d *= loss_scale;
  if (saved.noise.empty()) {
    linear_backward(dx, grads.router, nullptr, d_logits.data(), x, params.router, T, H, E, pool);
  } else {
    std::vector<float> d_router_input(T * H, 0.0f);
    linear_backward(d_router_input.data(), grads.router, nullptr, d_logits.data(), saved.router_input.data(),
                    params.router, T, H, E, pool);
    for (int64_t i = 0; i < T * H; ++i) dx[i] += d_router_input[i] * saved.noise[i];
  }
  router_timer.reset();

  if (config.shared_ffn > 0) {
    const MaybeScopedPhase timer(config.times, Phase::kSharedExpert);
    shared_expert_backward(dx, grads.shared, grads.shared_gate, dout, x, T, params.shared, params.shared_gate, H,
                           config.shared_ffn, saved.shared, pool);
  }
}

}  // namespace moe::train
