// `moe eval --perplexity FILE`: perplexity as llama-perplexity computes it. Under mpirun the
// windows are spread over the replicas (and attention-DP ranks) and the sums reduced.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/parallel_options.h"
#include "core/error.h"
#include "runtime/parallel_engine.h"
#include "runtime/profile_report.h"
#include "runtime/stats_file.h"
#include "runtime/perplexity.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {

namespace {
struct EvalOptions {
  std::string model;
  std::string text_file;
  int64_t n_ctx = 512;
  int threads = 0;
  bool json = false;
  std::string kv_dtype = "f32";
  std::string stats_file;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MOE_CHECK(in.good(), IoError, path, ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  // llama-perplexity drops one trailing newline of its -f file; so do we, to score the same tokens.
  std::string result = text.str();
  if (!result.empty() && result.back() == '\n') result.pop_back();
  return result;
}
}  // namespace

void add_eval_command(CLI::App& app, const CliContext& context) {
  auto o = std::make_shared<EvalOptions>();
  auto layout = std::make_shared<ParallelOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Score a text file: perplexity");
  cmd->add_option("-m,--model", o->model, "HF directory or GGUF file")->required();
  cmd->add_option("--perplexity", o->text_file, "UTF-8 text file to score")->required();
  cmd->add_option("-c,--ctx", o->n_ctx, "Window size in tokens (non-overlapping windows)")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Threads per rank (default: cores / ranks)");
  cmd->add_flag("--json", o->json, "Print {\"perplexity\", \"tokens_scored\"}");
  cmd->add_option("--kv-dtype", o->kv_dtype, "KV cache storage: f32, f16, int8 or fp8 (e4m3; per-head absmax scale)")
      ->capture_default_str();
  cmd->add_option("--record-stats", o->stats_file, "Write per-layer expert statistics (JSON) for moe stats / moe eplb");
  add_parallel_options(cmd, layout);
  const parallel::MpiRuntime& mpi = context.mpi;
  cmd->callback([o, layout, &mpi] {
    kernels::kv_dtype_from_name(o->kv_dtype, "--kv-dtype");  // fail before loading anything
    const parallel::ParallelConfig config = layout->resolve();
    parallel::Communicator world = parallel::Communicator::world(mpi, config.comm_timeout_s);
    const parallel::Mapping mapping = parallel::make_mapping(config, world.size(), world.rank());
    const std::string text = read_text(o->text_file);
    const model::Model m = model::load_model(o->model);
    runtime::check_layout(mapping, m.config, m.weights, config.moe_load_balancer);
    const tokenizer::Tokenizer tok(m.vocab);
    const std::vector<int32_t> tokens = tok.encode(text, m.vocab.add_bos);
    const int64_t n_windows = static_cast<int64_t>(tokens.size()) / std::max<int64_t>(1, o->n_ctx);
    MOE_CHECK(n_windows >= 1, UsageError, "--perplexity: ", o->text_file, " has ", tokens.size(),
              " tokens, fewer than --ctx ", o->n_ctx);
    const bool prints = world.rank() == 0;
    if (prints)
      std::fprintf(stderr, "moe eval: %zu tokens, %lld windows of %lld, %d ranks\n", tokens.size(),
                   static_cast<long long>(n_windows), static_cast<long long>(o->n_ctx), world.size());
    const int threads = o->threads > 0 ? o->threads : std::max(1, default_threads() / world.size());
    ThreadPool pool(threads);
    runtime::ParallelEngine engine(m, mapping, world, pool, config.check_dispatch, config.moe_load_balancer);
    engine.transformer().set_kv_dtype(kernels::kv_dtype_from_name(o->kv_dtype, "--kv-dtype"));

    runtime::WindowOptions options;
    options.n_ctx = o->n_ctx;
    options.bos_id = m.vocab.bos_id;
    options.add_bos = m.vocab.add_bos;
    options.serves = [&engine](int64_t window) { return engine.serves(static_cast<uint64_t>(window)); };
    options.any_active = [&engine](bool local) { return engine.any_active(local); };
    if (prints && world.size() == 1)
      options.on_window = [n_windows](int64_t window, double ppl) {
        std::fprintf(stderr, "[%lld/%lld] %.4f\n", static_cast<long long>(window + 1),
                     static_cast<long long>(n_windows), ppl);
      };
    const runtime::NllSum local = runtime::score_windows(engine.transformer(), tokens, options);
    // One rank per window contributes its sum.
    double sums[2] = {engine.reports() ? local.nll : 0.0, engine.reports() ? static_cast<double>(local.count) : 0.0};
    if (world.size() > 1) world.allreduce_sum(sums, 2);
    const double perplexity = std::exp(sums[0] / sums[1]);
    const auto scored = static_cast<int64_t>(sums[1]);
    if (!o->stats_file.empty())
      runtime::write_stats_file(world, mapping, engine.transformer().expert_stats(), m.config.hidden_size, o->model,
                                o->stats_file);
    const std::string report = runtime::run_report(world, engine.transformer().phase_times(), config.profile);
    if (!prints) return;
    std::fputs(report.c_str(), stderr);
    if (o->json)
      std::puts(nlohmann::json({{"perplexity", perplexity}, {"tokens_scored", scored}}).dump().c_str());
    else
      std::printf("perplexity: %.4f over %lld tokens\n", perplexity, static_cast<long long>(scored));
  });
}

}  // namespace moe::cli
