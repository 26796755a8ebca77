// `moe run`: generate text from one prompt (streamed to stdout) or from a file of prompts, one per
// line, each its own sequence, decoded together in one batch. Under mpirun the model is sharded
// by the parallel layout and rank 0 prints every request's result in order. --json prints one
// object per prompt.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/session_options.h"
#include "core/error.h"

namespace moe::cli {

namespace {
struct RunOptions {
  SessionCliOptions session;
  std::string prompt;
  std::string prompts_file;
  int64_t n_predict = 64;
  bool json = false;
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

std::string result_json(const runtime::Completion& result, const std::string& text) {
  const nlohmann::ordered_json out = {
      {"request", result.id}, {"prompt_tokens", result.prompt}, {"tokens", result.tokens}, {"text", text}};
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void add_run_command(CLI::App& app, const CliContext& context) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt or a file of prompts");
  add_session_options(cmd, o->session);
  auto* prompt = cmd->add_option("-p,--prompt", o->prompt, "Prompt text");
  auto* prompts = cmd->add_option("--prompts", o->prompts_file, "File of prompts, one per line, batched");
  prompt->excludes(prompts);
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")->capture_default_str();
  cmd->add_option("--temp", o->sampler.temperature, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o->sampler.top_k, "Sample from the k most likely tokens; 0 = all")->capture_default_str();
  cmd->add_option("--top-p", o->sampler.top_p, "Nucleus sampling threshold")->capture_default_str();
  cmd->add_option("--seed", o->sampler.seed, "Sampling seed (request i uses seed + i)")->capture_default_str();
  cmd->add_flag("--json", o->json,
                "Print {\"request\", \"prompt_tokens\", \"tokens\", \"text\"} per prompt, one per line");
  const parallel::MpiRuntime& mpi = context.mpi;
  cmd->callback([o, &mpi] {
    MOE_CHECK(!o->prompt.empty() || !o->prompts_file.empty(), UsageError, "--prompt or --prompts is required");
    MOE_CHECK(o->n_predict >= 0, UsageError, "-n: must be >= 0, got ", o->n_predict);
    o->sampler.validate();
    const runtime::SessionOptions options = o->session.resolve();
    const std::vector<std::string> texts =
        o->prompts_file.empty() ? std::vector<std::string>{o->prompt} : read_prompts(o->prompts_file);
    const std::unique_ptr<runtime::Session> session = runtime::Session::open(mpi, options);
    const tokenizer::Tokenizer& tok = session->tokenizer();
    parallel::Communicator& world = session->world();
    for (size_t i = 0; i < texts.size(); ++i) {
      if (!session->serves(i)) continue;
      runtime::Request request;
      request.id = i;
      request.prompt = tok.encode(texts[i], tok.vocab().add_bos);
      request.n_predict = o->n_predict;
      request.sampler = o->sampler;
      request.sampler.seed += i;
      session->add_request(std::move(request));
    }

    const bool prints = world.rank() == 0;
    const bool stream = !o->json && texts.size() == 1 && prints;
    if (stream) std::fputs(texts[0].c_str(), stdout);
    // The first step prefills every prompt; the rest decode.
    std::vector<runtime::Completion> done;
    std::vector<runtime::Event> events;
    double seconds[2] = {0, 0};
    for (int phase = 0;; phase = 1) {
      const auto start = std::chrono::steady_clock::now();
      if (!session->step(events)) break;
      for (runtime::Event& event : events) {
        if (stream && event.token) {
          std::fwrite(event.piece.data(), 1, event.piece.size(), stdout);
          std::fflush(stdout);
        }
        if (event.completion) done.push_back(std::move(*event.completion));
      }
      seconds[phase] += seconds_since(start);
    }
    const std::vector<runtime::Completion> results =
        runtime::gather_completions(world, session->reports() ? done : std::vector<runtime::Completion>{});
    const std::string report = finish_session(*session, o->session, options);
    if (!prints) return;
    if (stream) {
      std::puts("");
    } else {
      for (const runtime::Completion& result : results) {
        const std::string text = tok.decode(result.tokens);
        const std::string line =
            o->json ? result_json(result, text) : "[" + std::to_string(result.id + 1) + "] " + texts[result.id] + text;
        std::puts(line.c_str());
      }
    }
    std::fflush(stdout);
    std::fputs(report.c_str(), stderr);
    int64_t n_prompt = 0, n_generated = 0;
    for (const runtime::Completion& result : done) {
      n_prompt += static_cast<int64_t>(result.prompt.size());
      n_generated += static_cast<int64_t>(result.tokens.size());
    }
    const double n_decode = static_cast<double>(n_generated - static_cast<int64_t>(done.size()));
    std::fprintf(stderr,
                 "prompt: %lld tokens, %.1f tokens/s | generated: %lld tokens, %.1f tokens/s (rank 0: %zu requests, "
                 "%d threads, %d ranks, %lld KV preemptions)\n",
                 static_cast<long long>(n_prompt), static_cast<double>(n_prompt) / std::max(1e-9, seconds[0]),
                 static_cast<long long>(n_generated), n_decode > 0 ? n_decode / std::max(1e-9, seconds[1]) : 0.0,
                 done.size(), session->threads(), world.size(),
                 static_cast<long long>(session->kv_stats().preemptions));
  });
}

}  // namespace moe::cli
