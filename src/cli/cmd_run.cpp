// `moe run`: generate text from one prompt (streamed to stdout) or from a file of prompts, one per
// line, each its own sequence, decoded together in one batch. Under mpirun the model is sharded
// by the parallel layout and rank 0 prints every request's result in order. --json prints one
// object per prompt.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/parallel_options.h"
#include "core/error.h"
#include "runtime/generator.h"
#include "runtime/parallel_engine.h"
#include "runtime/profile_report.h"
#include "runtime/stats_file.h"

namespace moe::cli {

namespace {
struct RunOptions {
  std::string model;
  std::string prompt;
  std::string prompts_file;
  int64_t n_predict = 64;
  int threads = 0;
  bool json = false;
  std::string kv_dtype = "f32";
  std::string stats_file;
  runtime::SamplerOptions sampler;
};

std::vector<std::string> read_prompts(const std::string& path) {
  std::ifstream in(path);
  MOE_CHECK(in.good(), IoError, path, ": cannot open");
  std::vector<std::string> prompts;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) prompts.push_back(line);
  MOE_CHECK(!prompts.empty(), UsageError, "--prompts: ", path, " has no prompt (one per line)");
  return prompts;
}

std::string result_json(uint64_t index, const runtime::GenerationResult& result) {
  const nlohmann::ordered_json out = {{"request", index},
                                      {"prompt_tokens", result.prompt_tokens},
                                      {"tokens", result.tokens},
                                      {"text", result.text}};
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}
}  // namespace

int default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void add_run_command(CLI::App& app, const CliContext& context) {
  auto o = std::make_shared<RunOptions>();
  auto layout = std::make_shared<ParallelOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt or a file of prompts");
  cmd->add_option("-m,--model", o->model, "HF directory or GGUF file")->required();
  auto* prompt = cmd->add_option("-p,--prompt", o->prompt, "Prompt text");
  auto* prompts = cmd->add_option("--prompts", o->prompts_file, "File of prompts, one per line, batched");
  prompt->excludes(prompts);
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")->capture_default_str();
  cmd->add_option("--temp", o->sampler.temperature, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o->sampler.top_k, "Sample from the k most likely tokens; 0 = all")->capture_default_str();
  cmd->add_option("--top-p", o->sampler.top_p, "Nucleus sampling threshold")->capture_default_str();
  cmd->add_option("--seed", o->sampler.seed, "Sampling seed (request i uses seed + i)")->capture_default_str();
  cmd->add_option("--kv-dtype", o->kv_dtype, "KV cache storage: f32, f16, int8 or fp8 (e4m3; per-head absmax scale)")
      ->capture_default_str();
  cmd->add_option("--record-stats", o->stats_file, "Write per-layer expert statistics (JSON) for moe stats / moe eplb");
  cmd->add_option("-t,--threads", o->threads, "Threads per rank (default: cores / ranks)");
  cmd->add_flag("--json", o->json, "Print {\"request\", \"prompt_tokens\", \"tokens\", \"text\"} per prompt, one per line");
  add_parallel_options(cmd, layout);
  const parallel::MpiRuntime& mpi = context.mpi;
  cmd->callback([o, layout, &mpi] {
    MOE_CHECK(!o->prompt.empty() || !o->prompts_file.empty(), UsageError, "--prompt or --prompts is required");
    o->sampler.validate();
    kernels::kv_dtype_from_name(o->kv_dtype, "--kv-dtype");  // fail before loading anything
    const parallel::ParallelConfig config = layout->resolve();
    parallel::Communicator world = parallel::Communicator::world(mpi, config.comm_timeout_s);
    const parallel::Mapping mapping = parallel::make_mapping(config, world.size(), world.rank());
    const std::vector<std::string> texts = o->prompts_file.empty() ? std::vector<std::string>{o->prompt}
                                                                   : read_prompts(o->prompts_file);
    const model::Model m = model::load_model(o->model);
    runtime::check_layout(mapping, m.config, m.weights, config.moe_load_balancer);
    const tokenizer::Tokenizer tok(m.vocab);
    const int threads = o->threads > 0 ? o->threads : std::max(1, default_threads() / world.size());
    ThreadPool pool(threads);
    runtime::ParallelEngine engine(m, mapping, world, pool, config.check_dispatch, config.moe_load_balancer);
    engine.transformer().set_kv_dtype(kernels::kv_dtype_from_name(o->kv_dtype, "--kv-dtype"));

    std::vector<runtime::GenerationRequest> requests;
    for (size_t i = 0; i < texts.size(); ++i)
      if (engine.serves(i)) requests.push_back({i, tok.encode(texts[i], m.vocab.add_bos)});
    runtime::GenerationOptions options;
    options.n_predict = o->n_predict;
    options.sampler = o->sampler;

    const bool prints = world.rank() == 0;
    const bool stream = !o->json && texts.size() == 1 && prints;
    if (stream) std::fputs(texts[0].c_str(), stdout);
    runtime::GenerationTimings timings;
    const auto results = runtime::generate(
        engine.transformer(), tok, requests, options, timings,
        [stream](size_t, const std::string& piece) {
          if (!stream) return;
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
        },
        [&engine](bool local) { return engine.any_active(local); });

    // Every request's line travels to rank 0, which prints them in request order.
    std::string mine;
    if (engine.reports())
      for (size_t i = 0; i < results.size(); ++i) {
        const std::string line = o->json ? result_json(requests[i].id, results[i])
                                         : "[" + std::to_string(requests[i].id + 1) + "] " + texts[requests[i].id] +
                                               results[i].text;
        mine += std::to_string(requests[i].id) + "\t" + line + "\n";
      }
    const std::vector<std::string> parts = world.size() > 1 ? runtime::all_gather_strings(world, mine)
                                                            : std::vector<std::string>{mine};
    if (!o->stats_file.empty())
      runtime::write_stats_file(world, mapping, engine.transformer().expert_stats(), m.config.hidden_size, o->model,
                                o->stats_file);
    std::string report = runtime::run_report(world, engine.transformer().phase_times(), config.profile);
    if (config.profile) report += runtime::balancer_report(world, engine.transformer().online_balancer());
    if (!prints) return;
    if (stream) {
      std::puts("");
      std::fflush(stdout);
    } else {
      std::vector<std::pair<uint64_t, std::string>> lines;
      for (const std::string& part : parts)
        for (size_t begin = 0, end; begin < part.size(); begin = end + 1) {
          end = part.find('\n', begin);
          const size_t tab = part.find('\t', begin);
          lines.emplace_back(std::stoull(part.substr(begin, tab - begin)), part.substr(tab + 1, end - tab - 1));
        }
      std::sort(lines.begin(), lines.end());
      for (const auto& line : lines) std::puts(line.second.c_str());
      std::fflush(stdout);
    }
    std::fputs(report.c_str(), stderr);
    const double n_decode = static_cast<double>(timings.generated_tokens - static_cast<int64_t>(results.size()));
    std::fprintf(stderr,
                 "prompt: %lld tokens, %.1f tokens/s | generated: %lld tokens, %.1f tokens/s (rank 0: %zu requests, "
                 "%d threads, %d ranks)\n",
                 static_cast<long long>(timings.prompt_tokens),
                 static_cast<double>(timings.prompt_tokens) / std::max(1e-9, timings.prefill_seconds),
                 static_cast<long long>(timings.generated_tokens),
                 n_decode > 0 ? n_decode / std::max(1e-9, timings.decode_seconds) : 0.0, results.size(), threads,
                 world.size());
  });
}

}  // namespace moe::cli
