// moe_layout_check: runs a preset model under the parallel layout given by the flags (under mpirun)
// and checks every request's logits (every prompt position and every greedy decode step) and
// tokens against the single-process run computed on the same rank. Exit 0 when all ranks agree
// within --tolerance (relative to the logit scale), or bit for bit with --bitwise. --config takes a
// parallel.yaml (Wide-EP slots under moe_load_balancer:); --expect-moves requires the online
// balancer to have switched at least one layer on every rank during the run; --against-unreplicated
// compares with the same layout without the slots instead of one process (bit for bit even under
// attention TP, whose sums already differ from one process).
//
//   mpirun -np 4 moe_layout_check --preset mixtral-tiny --tp 4 --moe-ep 4 [--bitwise] [--zero-router]
//                                 [--config slots.yaml [--expect-moves]]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <CLI/CLI.hpp>

#include "model/presets.h"
#include "parallel/mpi_runtime.h"
#include "runtime/parallel_engine.h"

namespace moe {
namespace {

struct RequestTrace {
  std::vector<float> logits;    // prompt positions, then one row per decode step
  std::vector<int32_t> tokens;  // greedy choices
};

// Uneven prompts, one of a single token, so attention-DP ranks get different lengths.
std::vector<std::vector<int32_t>> test_prompts(int64_t vocab) {
  std::vector<std::vector<int32_t>> prompts = {{1, 17, 42, 99, 256, 311, 7, 128, 400, 63, 205, 480},
                                               {1},
                                               {1, 5, 9, 200, 3},
                                               {1, 77, 400, 12, 13, 14, 15, 16, 17}};
  for (auto& prompt : prompts)
    for (int32_t& token : prompt) token %= static_cast<int32_t>(vocab);
  return prompts;
}

int32_t argmax(const float* row, int64_t n) { return static_cast<int32_t>(std::max_element(row, row + n) - row); }

// Prefill every served request with all logits, then n_steps greedy steps, in lockstep with the
// other ranks of the replica (ranks without requests join with empty batches).
std::vector<RequestTrace> run(model::Transformer& transformer, const std::vector<std::vector<int32_t>>& prompts,
                              const std::vector<size_t>& served, int n_steps,
                              const std::function<bool(bool)>& any_active) {
  const int64_t vocab = transformer.vocab_size();
  std::vector<RequestTrace> traces(served.size());
  std::vector<model::KvCache> caches;
  std::vector<model::SequenceSlice> batch;
  for (size_t i = 0; i < served.size(); ++i)
    caches.push_back(transformer.make_cache(static_cast<int64_t>(prompts[served[i]].size()) + n_steps));
  for (size_t i = 0; i < served.size(); ++i) batch.push_back({prompts[served[i]], &caches[i], true});
  std::vector<float> logits;
  if (any_active(!batch.empty())) transformer.forward(batch, logits);
  std::vector<int32_t> next(served.size());
  int64_t offset = 0;
  for (size_t i = 0; i < served.size(); ++i) {
    const int64_t n = static_cast<int64_t>(prompts[served[i]].size());
    traces[i].logits.assign(logits.begin() + offset * vocab, logits.begin() + (offset + n) * vocab);
    next[i] = argmax(logits.data() + (offset + n - 1) * vocab, vocab);
    traces[i].tokens.push_back(next[i]);
    offset += n;
  }
  for (int step = 1; step < n_steps; ++step) {
    if (!any_active(!served.empty())) break;
    batch.clear();
    for (size_t i = 0; i < served.size(); ++i)
      batch.push_back({std::span<const int32_t>(&next[i], 1), &caches[i], false});
    transformer.forward(batch, logits);
    for (size_t i = 0; i < served.size(); ++i) {
      traces[i].logits.insert(traces[i].logits.end(), logits.begin() + i * vocab, logits.begin() + (i + 1) * vocab);
      next[i] = argmax(logits.data() + i * vocab, vocab);
      traces[i].tokens.push_back(next[i]);
    }
  }
  return traces;
}

int check(const parallel::MpiRuntime& mpi, int argc, char** argv) {
  CLI::App app{"Checks a parallel layout against the single-process run"};
  std::string preset = "mixtral-tiny";
  double tolerance = 1e-5;
  bool bitwise = false, zero_router = false, expect_moves = false, against_unreplicated = false;
  std::string config_file;
  int n_steps = 6;
  parallel::ParallelConfig config;
  std::vector<std::pair<std::string, std::string>> overrides;
  app.add_option("--preset", preset);
  app.add_option("--tolerance", tolerance);
  app.add_option("--steps", n_steps);
  app.add_flag("--bitwise", bitwise, "Require bit-identical logits");
  app.add_flag("--zero-router", zero_router, "All router weights 0: every token ties and takes experts 0..k-1");
  app.add_option("--config", config_file, "Parallel YAML (flags override it)");
  app.add_flag("--expect-moves", expect_moves, "Fail unless online EPLB switched a layer on every rank");
  app.add_flag("--against-unreplicated", against_unreplicated, "Reference: this layout without moe_load_balancer");
  for (const std::string& key : parallel::parallel_config_keys()) {
    if (key == "enable_attention_dp" || key == "check_dispatch" || key == "profile")
      app.add_flag_callback(parallel::flag_name(key), [&overrides, key] { overrides.emplace_back(key, "true"); });
    else
      app.add_option_function<std::string>(parallel::flag_name(key),
                                           [&overrides, key](const std::string& v) { overrides.emplace_back(key, v); });
  }
  app.parse(argc, argv);
  if (!config_file.empty()) config = parallel::load_parallel_config(config_file);
  for (const auto& [key, value] : overrides) parallel::apply_override(config, key, value);

  parallel::Communicator world = parallel::Communicator::world(mpi, 60);
  const parallel::Mapping mapping = parallel::make_mapping(config, world.size(), world.rank());
  model::Model model = model::make_preset_model(preset, 7, DType::kF32);
  if (zero_router)
    for (model::LayerWeights& layer : model.weights.layers)
      layer.router = Tensor::from_f32(layer.router.shape(), std::vector<float>(layer.router.numel(), 0.0f));
  runtime::check_layout(mapping, model.config, model.weights, config.moe_load_balancer);
  const auto prompts = test_prompts(model.config.vocab_size);

  ThreadPool pool(1);
  std::vector<size_t> all(prompts.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  runtime::ParallelEngine engine(model, mapping, world, pool, true, config.moe_load_balancer);
  std::vector<size_t> served;
  for (size_t i = 0; i < prompts.size(); ++i)
    if (engine.serves(i)) served.push_back(i);
  std::vector<RequestTrace> reference(prompts.size());
  if (against_unreplicated) {
    runtime::ParallelEngine plain(model, mapping, world, pool, true);
    const std::vector<RequestTrace> traces =
        run(plain.transformer(), prompts, served, n_steps, [&plain](bool local) { return plain.any_active(local); });
    for (size_t i = 0; i < served.size(); ++i) reference[served[i]] = traces[i];
  } else {
    model::Transformer single(model, pool);
    reference = run(single, prompts, all, n_steps, [](bool local) { return local; });
  }
  const std::vector<RequestTrace> traces =
      run(engine.transformer(), prompts, served, n_steps, [&engine](bool local) { return engine.any_active(local); });

  double max_error = 0;
  bool tokens_equal = true, bits_equal = true;
  for (size_t i = 0; i < served.size(); ++i) {
    const RequestTrace& want = reference[served[i]];
    const RequestTrace& got = traces[i];
    tokens_equal = tokens_equal && got.tokens == want.tokens;
    bits_equal = bits_equal && got.logits == want.logits;
    double scale = 0, error = 0;
    for (size_t j = 0; j < want.logits.size() && j < got.logits.size(); ++j) {
      scale = std::max(scale, static_cast<double>(std::fabs(want.logits[j])));
      error = std::max(error, static_cast<double>(std::fabs(got.logits[j] - want.logits[j])));
    }
    if (got.logits.size() != want.logits.size()) error = INFINITY;
    max_error = std::max(max_error, error / scale);
  }
  const balance::OnlineBalancer* balancer = engine.transformer().online_balancer();
  const size_t n_moves = balancer != nullptr ? balancer->moves().size() : 0;
  std::ostringstream mine;
  mine << "rank " << world.rank() << ": " << served.size() << " requests, max rel error " << max_error
       << (tokens_equal ? ", tokens equal" : ", TOKENS DIFFER") << (bits_equal ? ", bit-identical" : "");
  if (balancer != nullptr) mine << ", " << n_moves << " layer moves";
  const bool ok = tokens_equal && (bitwise ? bits_equal : max_error <= tolerance) && (!expect_moves || n_moves > 0);
  const std::vector<std::string> reports = runtime::all_gather_strings(world, mine.str() + (ok ? "" : "  <-- FAIL"));
  bool all_ok = true;
  for (const std::string& report : reports) all_ok = all_ok && report.find("FAIL") == std::string::npos;
  if (world.rank() == 0) {
    for (const std::string& report : reports) std::printf("%s\n", report.c_str());
    std::printf("%s: %s (tp %d pp %d dp %d moe_tp %d moe_ep %d%s)\n", all_ok ? "PASS" : "FAIL", preset.c_str(),
                mapping.tp, mapping.pp, mapping.dp, mapping.moe_tp, mapping.moe_ep,
                mapping.attention_dp ? " attention-dp" : "");
  }
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace moe

int main(int argc, char** argv) {
  moe::parallel::MpiRuntime mpi;
  int code = 1;
  const int failed = moe::parallel::run_ranked(mpi, [&] { code = moe::check(mpi, argc, argv); });
  return failed != 0 ? failed : code;
}
