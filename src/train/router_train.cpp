// Training-mode routing as Megatron-Core's TopKRouter.routing computes it, forward and backward
// side by side. Shapes: T tokens, E experts, k = topk, B sequences of S tokens (seq_aux_loss).
// Arithmetic is in double inside (fp32 in and out), so results sit within fp32 rounding of a
// float64 evaluation of Megatron's code (tests/reference/megatron_router_reference.py).
#include "train/router_train.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "parallel/communicator.h"
#include "train/sinkhorn.h"

namespace moe::train {
namespace {

// Megatron adds this to the sigmoid sums it divides by.
constexpr double kSigmoidNormEps = 1e-20;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The aux losses' probabilities of one token: softmax over all E, or the elementwise scores
// normalised over all E (compute_routing_scores_for_aux_loss), which `sigmoids` then receives
// unnormalised.
void aux_scores(const float* logits, const RouterTrainConfig& config, double* probs, double* sigmoids) {
  const int64_t n = config.num_experts;
  if (config.score_function == ScoreFunction::kSoftmax) {
    softmax(logits, n, probs);
    return;
  }
  double sum = 0;
  for (int64_t e = 0; e < n; ++e) sum += sigmoids[e] = elementwise_score(config.score_function, logits[e]);
  for (int64_t e = 0; e < n; ++e) probs[e] = sigmoids[e] / (sum + kSigmoidNormEps);
}

// One token's k experts (before capacity) and combine weights: the shared routing math
// (moe/router.h), or for sinkhorn the top-k of the balanced row weighted as
// sinkhorn_load_balancing does (sigmoid of the logit for k = 1, else the softmax probabilities).
void choose_experts(const float* logits, const double* balanced, const RouterTrainConfig& config,
                    const RouterConfig& routing, std::span<const float> bias, int32_t* experts, float* weights,
                    RouteScratch& work) {
  if (config.load_balancing != LoadBalancing::kSinkhorn) {
    route_token(logits, routing, bias, experts, weights, work);
    return;
  }
  const int64_t n = config.num_experts, k = config.topk;
  work.scores.resize(n);
  top_k_indices(balanced, n, k, work.chosen);
  softmax(logits, n, work.scores.data());
  for (int64_t j = 0; j < k; ++j) {
    experts[j] = work.chosen[j];
    weights[j] = static_cast<float>(k == 1 ? sigmoid(logits[work.chosen[j]]) : work.scores[work.chosen[j]]);
  }
}

// Megatron's apply_router_token_dropping: an expert over capacity keeps its highest-weight pairs
// (probs; ties to the earlier token) or its earliest pairs (position); the others become -1 / 0.
int64_t drop_over_capacity(RouterTrainOutput& out, int64_t n_tokens, const RouterTrainConfig& config) {
  const int64_t k = config.topk;
  std::vector<std::vector<int64_t>> pairs(config.num_experts);  // per expert, in token order
  for (int64_t pair = 0; pair < n_tokens * k; ++pair) pairs[out.experts[pair]].push_back(pair);
  int64_t dropped = 0;
  for (std::vector<int64_t>& list : pairs) {
    if (static_cast<int64_t>(list.size()) <= out.capacity) continue;
    if (config.drop_policy == DropPolicy::kProbs)
      std::stable_sort(list.begin(), list.end(), [&](int64_t a, int64_t b) { return out.weights[a] > out.weights[b]; });
    for (size_t i = out.capacity; i < list.size(); ++i) {
      out.experts[list[i]] = -1;
      out.weights[list[i]] = 0.0f;
      ++dropped;
    }
  }
  return dropped;
}

// Sums `values` over the aux group (Megatron's reduce over its TP x CP group).
void sum_over_group(std::vector<double>& values, parallel::Communicator* group) {
  if (group != nullptr && group->size() > 1) group->allreduce_sum(values.data(), static_cast<int64_t>(values.size()));
}

// Megatron's aux loss (switch_load_balancing_loss_func) or, with n_sequences > 0, its
// sequence-level form: per block of tokens, coeff * E / (k * tokens^2) * sum_i c_i * sum_t p[t][i],
// averaged over the blocks. Fills saved's counts and tokens; returns the loss.
double aux_loss_forward(std::span<const float> logits, int64_t n_tokens, const RouterTrainConfig& config,
                        int64_t seq_length, parallel::Communicator* group, RouterSaved& saved) {
  const int64_t n = config.num_experts, k = config.topk;
  const bool per_sequence = config.load_balancing == LoadBalancing::kSeqAuxLoss;
  const int64_t blocks = per_sequence ? n_tokens / seq_length : 1;
  const int64_t block_tokens = per_sequence ? seq_length : n_tokens;
  std::vector<double> probs(n * n_tokens), sigmoids(n);
  std::vector<double> counts(blocks * n + 1, 0.0);  // and the token count, summed together
  std::vector<int32_t> chosen;
  for (int64_t t = 0; t < n_tokens; ++t) {
    double* p = probs.data() + t * n;
    aux_scores(logits.data() + t * n, config, p, sigmoids.data());
    top_k_indices(p, n, k, chosen);  // a plain top-k: no bias, no groups, no capacity
    for (int32_t e : chosen) counts[(t / block_tokens) * n + e] += 1;
  }
  counts.back() = static_cast<double>(block_tokens);
  sum_over_group(counts, group);
  saved.aux_tokens = counts.back();
  counts.pop_back();
  saved.aux_counts = counts;
  saved.n_sequences = per_sequence ? blocks : 0;

  const double scale = config.aux_loss_coeff * static_cast<double>(n) /
                       (static_cast<double>(k) * saved.aux_tokens * saved.aux_tokens) / static_cast<double>(blocks);
  double loss = 0;
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t e = 0; e < n; ++e) loss += probs[t * n + e] * counts[(t / block_tokens) * n + e];
  return loss * scale;
}

// Megatron's z_loss_func: coeff * mean_t logsumexp(logits[t])^2.
double z_loss_forward(std::span<const float> logits, int64_t n_tokens, int64_t n, double coeff) {
  std::vector<double> probs(n);
  double sum = 0;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const double lse = softmax(logits.data() + t * n, n, probs.data());
    sum += lse * lse;
  }
  return coeff * sum / static_cast<double>(n_tokens);
}

// d_logits of one token from g = d(loss)/d(p) where p = softmax(logits): p_i (g_i - sum_m p_m g_m).
void softmax_backward(const double* p, const double* g, int64_t n, double* d_logits) {
  double dot = 0;
  for (int64_t i = 0; i < n; ++i) dot += p[i] * g[i];
  for (int64_t i = 0; i < n; ++i) d_logits[i] += p[i] * (g[i] - dot);
}

}  // namespace

RouterTrainOutput route_forward(std::span<const float> logits, int64_t n_tokens, const RouterTrainConfig& config,
                                std::span<const float> expert_bias, int64_t seq_length,
                                parallel::Communicator* aux_group, RouterSaved* saved) {
  config.validate();
  const int64_t n = config.num_experts, k = config.topk;
  MOE_CHECK(n_tokens >= 1 && static_cast<int64_t>(logits.size()) == n_tokens * n, UsageError,
            "router logits: ", logits.size(), " values, expected ", n_tokens, " tokens x ", n, " experts");
  MOE_CHECK(expert_bias.empty() || config.enable_expert_bias, UsageError,
            "expert bias given but moe_router_enable_expert_bias is off");
  MOE_CHECK(expert_bias.empty() || static_cast<int64_t>(expert_bias.size()) == n, UsageError,
            "expert bias: ", expert_bias.size(), " values but num_experts = ", n);
  const bool aux_on = config.aux_loss_coeff > 0 && (config.load_balancing == LoadBalancing::kAuxLoss ||
                                                    config.load_balancing == LoadBalancing::kSeqAuxLoss);
  MOE_CHECK(
      !aux_on || config.load_balancing != LoadBalancing::kSeqAuxLoss || (seq_length >= 1 && n_tokens % seq_length == 0),
      UsageError, "seq_aux_loss: the sequence length ", seq_length, " must divide the ", n_tokens, " tokens");

  RouterTrainOutput out;
  out.experts.resize(n_tokens * k);
  out.weights.resize(n_tokens * k);
  std::vector<double> balanced;
  if (config.load_balancing == LoadBalancing::kSinkhorn) balanced = sinkhorn(logits, n_tokens, n);
  const RouterConfig routing = config.routing();
  RouteScratch scratch;
  for (int64_t t = 0; t < n_tokens; ++t)
    choose_experts(logits.data() + t * n, balanced.empty() ? nullptr : balanced.data() + t * n, config, routing,
                   expert_bias, out.experts.data() + t * k, out.weights.data() + t * k, scratch);
  std::vector<int32_t> topk_ids = out.experts;

  if (config.capacity_factor) {
    // get_capacity(T * k, E, factor); nothing can be over capacity when capacity >= T.
    out.capacity = static_cast<int64_t>(
        std::ceil(static_cast<double>(n_tokens * k) / static_cast<double>(n) * *config.capacity_factor));
    if (out.capacity < n_tokens) out.dropped = drop_over_capacity(out, n_tokens, config);
  }
  out.tokens_per_expert.assign(n, 0);
  for (int32_t e : out.experts)
    if (e >= 0) ++out.tokens_per_expert[e];

  RouterSaved local;
  RouterSaved& keep = saved != nullptr ? *saved : local;
  keep = RouterSaved{};
  keep.n_tokens = n_tokens;
  if (aux_on) out.aux_loss = aux_loss_forward(logits, n_tokens, config, seq_length, aux_group, keep);
  const int group_size = aux_group != nullptr ? aux_group->size() : 1;
  keep.z_coeff = config.z_loss_coeff / group_size;
  if (config.z_loss_coeff > 0) out.z_loss = z_loss_forward(logits, n_tokens, n, keep.z_coeff);
  if (saved != nullptr) {
    keep.logits.assign(logits.begin(), logits.end());
    keep.topk_ids = std::move(topk_ids);
    keep.experts = out.experts;
  }
  return out;
}

void route_backward(const RouterSaved& saved, const RouterTrainConfig& config, std::span<const float> d_weights,
                    std::span<float> d_logits) {
  const int64_t n = config.num_experts, k = config.topk, n_tokens = saved.n_tokens;
  MOE_CHECK(static_cast<int64_t>(d_weights.size()) == n_tokens * k &&
                static_cast<int64_t>(d_logits.size()) == n_tokens * n &&
                static_cast<int64_t>(saved.logits.size()) == n_tokens * n,
            UsageError, "route_backward: d_weights ", d_weights.size(), ", d_logits ", d_logits.size(), " values for ",
            n_tokens, " tokens (forward kept ", saved.logits.size(), " logits)");
  const double scale = config.topk_scaling_factor.value_or(1.0);
  const bool sinkhorn = config.load_balancing == LoadBalancing::kSinkhorn;
  const bool aux_on = !saved.aux_counts.empty();
  const int64_t block_tokens = saved.n_sequences > 0 ? n_tokens / saved.n_sequences : n_tokens;
  const double aux_scale = aux_on ? config.aux_loss_coeff * static_cast<double>(n) /
                                        (static_cast<double>(k) * saved.aux_tokens * saved.aux_tokens) /
                                        static_cast<double>(std::max<int64_t>(saved.n_sequences, 1))
                                  : 0.0;
  std::vector<double> probs(n), sigmoids(n), g(n), d_row(n), picked_p(k), picked_g(k);
  std::vector<float> picked(k);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* row = saved.logits.data() + t * n;
    const int32_t* ids = saved.topk_ids.data() + t * k;
    std::fill(d_row.begin(), d_row.end(), 0.0);
    // Gradient of the loss w.r.t. the unscaled weights; a dropped pair's weight is a constant 0.
    for (int64_t j = 0; j < k; ++j)
      picked_g[j] = saved.experts[t * k + j] >= 0 ? d_weights[t * k + j] * (sinkhorn ? 1.0 : scale) : 0.0;

    if (config.score_function != ScoreFunction::kSoftmax) {  // never sinkhorn (validate)
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += picked_p[j] = elementwise_score(config.score_function, row[ids[j]]);
      double dot = 0;  // sum_m g_m s_m / (S + eps)^2: the normaliser's share
      const double norm = sum + kSigmoidNormEps;
      for (int64_t j = 0; j < k; ++j) dot += picked_g[j] * picked_p[j];
      for (int64_t j = 0; j < k; ++j) {
        const double d_score = k > 1 ? picked_g[j] / norm - dot / (norm * norm) : picked_g[j];
        d_row[ids[j]] += d_score * elementwise_score_derivative(config.score_function, row[ids[j]]);
      }
    } else if (sinkhorn && k == 1) {
      const double s = sigmoid(row[ids[0]]);
      d_row[ids[0]] += picked_g[0] * s * (1.0 - s);
    } else if (sinkhorn || config.pre_softmax) {  // weights = softmax over all E at the chosen
      softmax(row, n, probs.data());
      std::fill(g.begin(), g.end(), 0.0);
      for (int64_t j = 0; j < k; ++j) g[ids[j]] = picked_g[j];
      softmax_backward(probs.data(), g.data(), n, d_row.data());
    } else {  // weights = softmax over the k chosen logits
      for (int64_t j = 0; j < k; ++j) picked[j] = row[ids[j]];
      softmax(picked.data(), k, picked_p.data());
      std::vector<double> d_picked(k, 0.0);
      softmax_backward(picked_p.data(), picked_g.data(), k, d_picked.data());
      for (int64_t j = 0; j < k; ++j) d_row[ids[j]] += d_picked[j];
    }

    if (aux_on) {  // d(aux)/d(p[t][i]) = scale * c_i, through the aux probabilities
      const double* counts = saved.aux_counts.data() + (t / block_tokens) * n;
      aux_scores(row, config, probs.data(), sigmoids.data());
      for (int64_t e = 0; e < n; ++e) g[e] = aux_scale * counts[e];
      if (config.score_function == ScoreFunction::kSoftmax) {
        softmax_backward(probs.data(), g.data(), n, d_row.data());
      } else {
        double sum = 0, dot = 0;
        for (int64_t e = 0; e < n; ++e) sum += sigmoids[e];
        const double norm = sum + kSigmoidNormEps;
        for (int64_t e = 0; e < n; ++e) dot += g[e] * sigmoids[e];
        for (int64_t e = 0; e < n; ++e)
          d_row[e] += (g[e] / norm - dot / (norm * norm)) * elementwise_score_derivative(config.score_function, row[e]);
      }
    }

    if (config.z_loss_coeff > 0) {  // d(coeff * mean lse^2) = coeff / T * 2 lse * softmax
      const double lse = softmax(row, n, probs.data());
      const double factor = saved.z_coeff / static_cast<double>(n_tokens) * 2.0 * lse;
      for (int64_t e = 0; e < n; ++e) d_row[e] += factor * probs[e];
    }
    for (int64_t e = 0; e < n; ++e) d_logits[t * n + e] = static_cast<float>(d_row[e]);
  }
}

void update_expert_bias(std::span<float> expert_bias, std::span<const int64_t> tokens_per_expert, double rate) {
  MOE_CHECK(expert_bias.size() == tokens_per_expert.size(), UsageError, "expert bias: ", expert_bias.size(),
            " values but ", tokens_per_expert.size(), " token counts");
  const double mean =
      static_cast<double>(std::accumulate(tokens_per_expert.begin(), tokens_per_expert.end(), int64_t{0})) /
      static_cast<double>(tokens_per_expert.size());
  for (size_t e = 0; e < expert_bias.size(); ++e) {
    const double offset = mean - static_cast<double>(tokens_per_expert[e]);
    const double sign = offset > 0 ? 1.0 : offset < 0 ? -1.0 : 0.0;
    expert_bias[e] = static_cast<float>(expert_bias[e] + sign * rate);
  }
}

}  // namespace moe::train
