// Under mpirun: the training MoE layer with expert parallelism over all ranks (ExpertExchange).
// Each rank holds its own tokens (a different count per rank) and E / ranks experts; its output,
// input gradient and router gradient must be those of one process running its tokens with every
// expert, and its experts' gradients the sum over the ranks of those one-process gradients. With
// capacity (dropping, padding) and without. Exit code 1 (on every rank) when any check fails.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "parallel/communicator.h"
#include "parallel/mpi_runtime.h"
#include "train/moe_layer.h"

namespace {

using namespace moe::train;

int g_failures = 0;

// |a - b| <= tol * (1 + |b|) everywhere.
void check_close(const std::vector<float>& a, const std::vector<float>& b, double tol, int rank,
                 const std::string& what) {
  double worst = 0;
  bool same_size = a.size() == b.size();
  for (size_t i = 0; same_size && i < a.size(); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - b[i]) / (1.0 + std::abs(double(b[i]))));
  if (same_size && worst <= tol) return;
  std::fprintf(stderr, "rank %d: %s: %zu vs %zu values, worst relative difference %g > %g\n", rank, what.c_str(),
               a.size(), b.size(), worst, tol);
  ++g_failures;
}

std::vector<float> wave(int64_t n, double a, double b, double scale) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(scale * std::sin(a * i + b));
  return v;
}

struct Experts {
  std::vector<std::vector<float>> gate, up, down;  // [E] of [F][H], [F][H], [H][F]
};

void check_case(const std::string& name, RouterTrainConfig router, moe::parallel::Communicator& world) {
  const int rank = world.rank(), ranks = world.size();
  const int64_t H = 16, F = 24, E = router.num_experts, T = 10 + 3 * rank;
  const std::vector<float> router_w = wave(E * H, 0.37, 0.1, 0.5);
  Experts w;
  for (int64_t e = 0; e < E; ++e) {
    w.gate.push_back(wave(F * H, 0.11 + 0.01 * e, e, 0.3));
    w.up.push_back(wave(F * H, 0.13 + 0.01 * e, 2.0 * e, 0.3));
    w.down.push_back(wave(H * F, 0.17 + 0.01 * e, 3.0 * e, 0.3));
  }
  const std::vector<float> x = wave(T * H, 0.29, 1.0 + rank, 1.0), dout = wave(T * H, 0.23, 2.0 + rank, 1.0);

  // One process, every expert here.
  auto run = [&](MoeLayerConfig config, int64_t first, int64_t count, std::vector<float>& out, std::vector<float>& dx,
                 std::vector<float>& d_router, Experts& grads) {
    MoeParams params;
    params.router = router_w.data();
    MoeGrads g;
    d_router.assign(E * H, 0.0f);
    g.router = d_router.data();
    grads = {};
    for (int64_t e = first; e < first + count; ++e) {
      params.experts.push_back({w.gate[e].data(), w.up[e].data(), w.down[e].data()});
      grads.gate.emplace_back(F * H, 0.0f);
      grads.up.emplace_back(F * H, 0.0f);
      grads.down.emplace_back(H * F, 0.0f);
    }
    for (int64_t i = 0; i < count; ++i)
      g.experts.push_back({grads.gate[i].data(), grads.up[i].data(), grads.down[i].data()});
    MoeSaved saved;
    out.assign(T * H, 0.0f);
    dx.assign(T * H, 0.0f);
    moe_forward(out.data(), x.data(), T, params, config, {}, saved, nullptr);
    moe_backward(dx.data(), g, dout.data(), x.data(), T, params, config, saved, 0.5f, nullptr);
  };
  MoeLayerConfig config{H, F, 0, router, T};
  std::vector<float> out_ref, dx_ref, router_ref, out_ep, dx_ep, router_ep;
  Experts grads_ref, grads_ep;
  run(config, 0, E, out_ref, dx_ref, router_ref, grads_ref);

  moe::ExpertExchange exchange(world, E);
  config.exchange = &exchange;
  run(config, exchange.first_expert(), exchange.local_experts(), out_ep, dx_ep, router_ep, grads_ep);

  check_close(out_ep, out_ref, 1e-6, rank, name + ": output");
  check_close(dx_ep, dx_ref, 1e-6, rank, name + ": input gradient");
  check_close(router_ep, router_ref, 1e-6, rank, name + ": router gradient");
  for (int64_t e = 0; e < E; ++e)
    for (auto* g : {&grads_ref.gate[e], &grads_ref.up[e], &grads_ref.down[e]})
      world.allreduce_sum(g->data(), static_cast<int64_t>(g->size()));
  for (int64_t i = 0; i < exchange.local_experts(); ++i) {
    const int64_t e = exchange.first_expert() + i;
    const std::string which = name + ": expert " + std::to_string(e) + " gradient ";
    check_close(grads_ep.gate[i], grads_ref.gate[e], 1e-5, rank, which + "gate");
    check_close(grads_ep.up[i], grads_ref.up[e], 1e-5, rank, which + "up");
    check_close(grads_ep.down[i], grads_ref.down[e], 1e-5, rank, which + "down");
  }
  (void)ranks;
}

}  // namespace

int main() {
  moe::parallel::MpiRuntime runtime;
  int failures = 0;
  {
    moe::parallel::Communicator world = moe::parallel::Communicator::world(runtime, 60);
    RouterTrainConfig router;
    router.num_experts = 8;
    router.topk = 2;
    router.aux_loss_coeff = 1e-2;
    router.z_loss_coeff = 1e-3;
    check_case("dropless", router, world);
    router.capacity_factor = 1.0;
    router.pad_to_capacity = true;
    check_case("capacity 1, padded", router, world);
    double mine = g_failures;
    world.allreduce_sum(&mine, 1);
    failures = static_cast<int>(mine);
    if (world.rank() == 0) std::printf("moe layer under EP %d: %d failed checks\n", world.size(), failures);
  }
  return failures == 0 ? 0 : 1;
}
