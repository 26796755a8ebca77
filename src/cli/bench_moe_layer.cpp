// `moe bench --moe-layer`: one untimed warm-up, then -r timed runs of the MoE layer's forward (and
// with --backward of forward + backward) per token count and thread count; medians.
// FLOPs counted: forward = 3 expert GEMMs of 2 T k H F each (gate, up, down) + the router's
// 2 T H E; backward = twice that (dx and dW of each). Element-wise work (SiLU, permute, combine,
// softmax) is not counted. Weights: the router and experts with N(0, 1/fan_in) entries, inputs
// N(0, 1): a softmax top-k router without capacity (dropless) and without aux loss. --bf16 runs
// the expert GEMMs in kernels::gemm's bf16 mode (the router stays f32).
#include "cli/bench_moe_layer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/malloc_tuning.h"
#include "core/random.h"
#include "core/thread_pool.h"
#include "kernels/gemm/gemm.h"
#include "runtime/bench.h"
#include "train/moe_layer.h"

namespace moe::cli {

namespace {

std::vector<float> normal_values(Rng& rng, int64_t n, double scale) {
  std::vector<float> values(n);
  for (float& v : values) v = static_cast<float>(scale * rng.normal());
  return values;
}

double median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 == 1 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The layer's weights, gradients and config for one shape.
struct LayerSetup {
  train::MoeLayerConfig config;
  std::vector<float> router, router_grad;
  std::vector<std::vector<float>> weights, grads;  // gate, up, down of expert e at 3 e .. 3 e + 2
  train::MoeParams params;
  train::MoeGrads grad_ptrs;

  LayerSetup(const MoeLayerBenchOptions& o, Rng& rng) {
    const int64_t H = o.hidden, F = o.ffn, E = o.experts;
    config.hidden = H;
    config.expert_ffn = F;
    config.router.num_experts = E;
    config.router.topk = o.topk;
    config.router.validate();
    router = normal_values(rng, E * H, 1.0 / std::sqrt(static_cast<double>(H)));
    router_grad.assign(E * H, 0.0f);
    for (int64_t e = 0; e < E; ++e) {
      weights.push_back(normal_values(rng, F * H, 1.0 / std::sqrt(static_cast<double>(H))));
      weights.push_back(normal_values(rng, F * H, 1.0 / std::sqrt(static_cast<double>(H))));
      weights.push_back(normal_values(rng, H * F, 1.0 / std::sqrt(static_cast<double>(F))));
      for (int i = 0; i < 3; ++i) grads.emplace_back(F * H, 0.0f);
    }
    params.router = router.data();
    grad_ptrs.router = router_grad.data();
    for (int64_t e = 0; e < E; ++e) {
      params.experts.push_back({.gate = weights[3 * e].data(),
                                .up = weights[3 * e + 1].data(),
                                .down = weights[3 * e + 2].data(),
                                .bf16 = o.bf16});
      grad_ptrs.experts.push_back({grads[3 * e].data(), grads[3 * e + 1].data(), grads[3 * e + 2].data()});
    }
  }
};

struct LayerTimes {
  double fwd_ms = 0;
  double fwdbwd_ms = 0;  // 0 without --backward
};

LayerTimes time_layer(LayerSetup& layer, int64_t T, bool backward, int repetitions, ThreadPool& pool, Rng& rng) {
  const int64_t H = layer.config.hidden;
  const std::vector<float> x = normal_values(rng, T * H, 1.0), dout = normal_values(rng, T * H, 1.0);
  std::vector<float> out(T * H), dx(T * H);
  train::MoeSaved saved;
  std::vector<double> fwd, fwdbwd;
  for (int run = 0; run <= repetitions; ++run) {  // run 0 is the warm-up
    const auto start = std::chrono::steady_clock::now();
    train::moe_forward(out.data(), x.data(), T, layer.params, layer.config, {}, saved, &pool);
    const double forward_s = seconds_since(start);
    if (backward) {
      std::fill(dx.begin(), dx.end(), 0.0f);
      train::moe_backward(dx.data(), layer.grad_ptrs, dout.data(), x.data(), T, layer.params, layer.config, saved, 1.0f,
                          &pool);
    }
    const double total_s = seconds_since(start);
    if (run == 0) continue;
    fwd.push_back(1e3 * forward_s);
    fwdbwd.push_back(1e3 * total_s);
  }
  return {median(fwd), backward ? median(fwdbwd) : 0.0};
}

}  // namespace

void add_moe_layer_options(CLI::App* cmd, const std::shared_ptr<MoeLayerBenchOptions>& options) {
  auto* enabled = cmd->add_flag("--moe-layer", options->enabled,
                                "Time one training MoE layer (forward, with --backward also backward) on random data "
                                "instead of a model; uses -t, -r, --json");
  auto dependent = [&](CLI::Option* option) { option->needs(enabled)->capture_default_str(); };
  dependent(cmd->add_option("--hidden", options->hidden, "MoE layer: hidden size H"));
  dependent(cmd->add_option("--ffn", options->ffn, "MoE layer: expert FFN size F"));
  dependent(cmd->add_option("--experts", options->experts, "MoE layer: experts E"));
  dependent(cmd->add_option("--topk", options->topk, "MoE layer: experts per token k"));
  dependent(cmd->add_option("--tokens", options->tokens, "MoE layer: token counts T, one row each (comma-separated)"));
  cmd->add_flag("--backward", options->backward, "MoE layer: time forward + backward too")->needs(enabled);
  cmd->add_flag("--bf16", options->bf16,
                "MoE layer: expert GEMMs with bf16 products, fp32 sums and fp32 master weights (AVX-512 BF16)")
      ->needs(enabled);
}

void run_moe_layer_bench(const MoeLayerBenchOptions& o, const std::vector<int>& threads, int repetitions, bool json) {
  MOE_CHECK(!o.bf16 || kernels::gemm_bf16_native(), UsageError,
            "--bf16: needs AVX-512 BF16 kernels (this CPU or MOE_KERNELS lacks them; the reference is far too slow)");
  reuse_freed_memory();
  MOE_CHECK(o.hidden >= 1 && o.ffn >= 1 && o.experts >= 1, UsageError, "--moe-layer: --hidden ", o.hidden, ", --ffn ",
            o.ffn, ", --experts ", o.experts, " must be >= 1");
  MOE_CHECK(o.topk >= 1 && o.topk <= o.experts, UsageError, "--topk ", o.topk, " must be in [1, --experts ", o.experts,
            "]");
  const std::vector<int64_t> tokens = runtime::parse_positive_list(o.tokens, "--tokens");
  Rng rng(o.seed);
  LayerSetup layer(o, rng);
  if (!json) {
    std::printf("| %6s | %7s | %7s | %10s | %10s | %10s | %10s |\n", "tokens", "threads", "bwd", "fwd_ms", "fwdbwd_ms",
                "fwd GF/s", "GFLOP/s");
    std::printf("| -----: | ------: | ------: | ---------: | ---------: | ---------: | ---------: |\n");
  }
  for (int n_threads : threads) {
    ThreadPool pool(n_threads);
    for (int64_t T : tokens) {
      std::fprintf(stderr, "bench: moe layer T %lld, %d threads: warm-up + %d runs\n", static_cast<long long>(T),
                   n_threads, repetitions);
      const LayerTimes times = time_layer(layer, T, o.backward, repetitions, pool, rng);
      const double forward_flops = 2.0 * T * o.topk * o.hidden * o.ffn * 3 + 2.0 * T * o.hidden * o.experts;
      const double fwd_gflops = forward_flops / (times.fwd_ms * 1e6);
      const double gflops = o.backward ? 3 * forward_flops / (times.fwdbwd_ms * 1e6) : fwd_gflops;
      if (json) {
        nlohmann::ordered_json row = {{"bench", "moe_layer"}, {"hidden", o.hidden}, {"ffn", o.ffn},
                                      {"experts", o.experts}, {"topk", o.topk},     {"tokens", T},
                                      {"threads", n_threads}, {"bf16", o.bf16},     {"fwd_ms", times.fwd_ms}};
        row["fwdbwd_ms"] = o.backward ? nlohmann::ordered_json(times.fwdbwd_ms) : nullptr;
        row["fwd_gflops"] = fwd_gflops;
        row["gflops"] = gflops;
        std::puts(row.dump().c_str());
      } else {
        char fwdbwd[32] = "-";
        if (o.backward) std::snprintf(fwdbwd, sizeof fwdbwd, "%.2f", times.fwdbwd_ms);
        std::printf("| %6lld | %7d | %7s | %10.2f | %10s | %10.1f | %10.1f |\n", static_cast<long long>(T), n_threads,
                    o.backward ? "yes" : "no", times.fwd_ms, fwdbwd, fwd_gflops, gflops);
      }
      std::fflush(stdout);
    }
  }
}

}  // namespace moe::cli
