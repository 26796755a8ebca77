// Under mpirun: every rank routes its shard of one batch with aux_group = all ranks (Megatron's
// TP x CP group under sequence parallelism). The ranks' aux and z losses must add up to the
// single-process losses of the whole batch, and each rank's experts, weights and d_logits must be
// the single-process rows of its tokens. Exit code 1 (on every rank) when any check fails.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "parallel/communicator.h"
#include "parallel/mpi_runtime.h"
#include "train/router_train.h"

namespace {

using moe::train::LoadBalancing;
using moe::train::RouterTrainConfig;

int g_failures = 0;

void check(bool ok, int rank, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "rank %d: %s\n", rank, what.c_str());
  ++g_failures;
}

// Routes B sequences of S tokens whole and in shards; `by_position`: each rank holds a slice of
// every sequence's positions (sequence parallel), else a contiguous slice of the tokens.
void check_mode(const std::string& name, RouterTrainConfig config, bool by_position,
                moe::parallel::Communicator& world) {
  const int ranks = world.size(), rank = world.rank();
  const int64_t B = 3, S = 4 * ranks, T = B * S, E = config.num_experts, k = config.topk;
  std::vector<float> logits(T * E), d_weights(T * k);
  for (int64_t i = 0; i < T * E; ++i) logits[i] = static_cast<float>(2.0 * std::sin(0.37 * i + 1.0));
  for (int64_t i = 0; i < T * k; ++i) d_weights[i] = static_cast<float>(std::cos(0.61 * i));

  moe::train::RouterSaved saved;
  const auto full = moe::train::route_forward(logits, T, config, {}, S, nullptr, &saved);
  std::vector<float> d_full(T * E);
  moe::train::route_backward(saved, config, d_weights, d_full);

  // This rank's tokens, in order.
  std::vector<int64_t> tokens;
  const int64_t share = (by_position ? S : T) / ranks;
  for (int64_t b = 0; b < (by_position ? B : 1); ++b)
    for (int64_t i = rank * share; i < (rank + 1) * share; ++i) tokens.push_back(b * S + i);
  const int64_t local = static_cast<int64_t>(tokens.size());
  std::vector<float> my_logits, my_d_weights;
  for (int64_t t : tokens) {
    my_logits.insert(my_logits.end(), logits.begin() + t * E, logits.begin() + (t + 1) * E);
    my_d_weights.insert(my_d_weights.end(), d_weights.begin() + t * k, d_weights.begin() + (t + 1) * k);
  }
  const auto mine = moe::train::route_forward(my_logits, local, config, {}, by_position ? share : S, &world, &saved);
  std::vector<float> d_mine(local * E);
  moe::train::route_backward(saved, config, my_d_weights, d_mine);

  double losses[2] = {mine.aux_loss, mine.z_loss};
  world.allreduce_sum(losses, 2);
  check(
      std::abs(losses[0] - full.aux_loss) <= 1e-12 * std::abs(full.aux_loss) && full.aux_loss > 0, rank,
      name + ": aux losses add up to " + std::to_string(losses[0]) + ", one process " + std::to_string(full.aux_loss));
  check(std::abs(losses[1] - full.z_loss) <= 1e-12 * std::abs(full.z_loss) && full.z_loss > 0, rank,
        name + ": z losses add up to " + std::to_string(losses[1]) + ", one process " + std::to_string(full.z_loss));
  float scale = 0;
  for (float d : d_full) scale = std::max(scale, std::abs(d));
  for (int64_t i = 0; i < local; ++i) {
    const int64_t t = tokens[i];
    for (int64_t j = 0; j < k; ++j) {
      check(mine.experts[i * k + j] == full.experts[t * k + j] && mine.weights[i * k + j] == full.weights[t * k + j],
            rank, name + ": token " + std::to_string(t) + " routed differently");
    }
    for (int64_t e = 0; e < E; ++e)
      check(std::abs(d_mine[i * E + e] - d_full[t * E + e]) <= 1e-6f * scale, rank,
            name + ": d_logits of token " + std::to_string(t) + " expert " + std::to_string(e) + ": " +
                std::to_string(d_mine[i * E + e]) + " vs " + std::to_string(d_full[t * E + e]));
  }
}

}  // namespace

int main() {
  moe::parallel::MpiRuntime runtime;
  moe::parallel::Communicator world = moe::parallel::Communicator::world(runtime, 30);

  RouterTrainConfig aux;
  aux.num_experts = 8;
  aux.topk = 2;
  aux.aux_loss_coeff = 0.01;
  aux.z_loss_coeff = 0.001;
  check_mode("aux_loss", aux, false, world);

  RouterTrainConfig seq = aux;
  seq.load_balancing = LoadBalancing::kSeqAuxLoss;
  seq.score_function = moe::ScoreFunction::kSigmoid;
  seq.topk = 3;
  check_mode("seq_aux_loss", seq, true, world);

  const int64_t failed = world.allreduce_max(g_failures > 0 ? 1 : 0);
  if (world.rank() == 0) std::printf("%s\n", failed ? "FAILED" : "all checks passed");
  return failed ? 1 : 0;
}
