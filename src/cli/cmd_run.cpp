// `moe run`: generate text from one prompt (streamed to stdout) or from a file of prompts, one per
// line, each its own sequence, decoded together in one batch. --json prints one object per prompt.
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "model/transformer.h"
#include "runtime/generator.h"

namespace moe::cli {

namespace {
struct RunOptions {
  std::string model;
  std::string prompt;
  std::string prompts_file;
  int64_t n_predict = 64;
  int threads = default_threads();
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

void print_json(const runtime::GenerationResult& result) {
  const nlohmann::ordered_json out = {
      {"prompt_tokens", result.prompt_tokens}, {"tokens", result.tokens}, {"text", result.text}};
  std::puts(out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
}
}  // namespace

int default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
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
  cmd->add_option("-t,--threads", o->threads, "Threads")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print {\"prompt_tokens\", \"tokens\", \"text\"} per prompt, one per line");
  cmd->callback([o] {
    MOE_CHECK(!o->prompt.empty() || !o->prompts_file.empty(), UsageError, "--prompt or --prompts is required");
    o->sampler.validate();
    const std::vector<std::string> texts = o->prompts_file.empty() ? std::vector<std::string>{o->prompt}
                                                                   : read_prompts(o->prompts_file);
    const model::Model m = model::load_model(o->model);
    const tokenizer::Tokenizer tok(m.vocab);
    ThreadPool pool(o->threads);
    model::Transformer transformer(m, pool);
    std::vector<std::vector<int32_t>> prompt_tokens;
    for (const std::string& text : texts) prompt_tokens.push_back(tok.encode(text, m.vocab.add_bos));
    runtime::GenerationOptions options;
    options.n_predict = o->n_predict;
    options.sampler = o->sampler;

    const bool stream = !o->json && texts.size() == 1;
    if (stream) std::fputs(texts[0].c_str(), stdout);
    runtime::GenerationTimings timings;
    const auto results = runtime::generate(transformer, tok, prompt_tokens, options, timings,
                                           [stream](size_t, const std::string& piece) {
                                             if (!stream) return;
                                             std::fwrite(piece.data(), 1, piece.size(), stdout);
                                             std::fflush(stdout);
                                           });
    for (size_t i = 0; i < results.size(); ++i) {
      if (o->json)
        print_json(results[i]);
      else if (stream)
        std::puts("");
      else
        std::printf("[%zu] %s%s\n", i + 1, texts[i].c_str(), results[i].text.c_str());
    }
    const double n_decode = static_cast<double>(timings.generated_tokens - static_cast<int64_t>(results.size()));
    std::fprintf(stderr, "prompt: %lld tokens, %.1f tokens/s | generated: %lld tokens, %.1f tokens/s (%zu requests, %d threads)\n",
                 static_cast<long long>(timings.prompt_tokens),
                 static_cast<double>(timings.prompt_tokens) / std::max(1e-9, timings.prefill_seconds),
                 static_cast<long long>(timings.generated_tokens),
                 n_decode > 0 ? n_decode / std::max(1e-9, timings.decode_seconds) : 0.0, results.size(), o->threads);
  });
}

}  // namespace moe::cli
