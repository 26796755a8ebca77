// `moe run`: generate text from a prompt, streaming tokens to stdout (or one JSON object).
#include <cstdio>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "model/transformer.h"
#include "runtime/generator.h"

namespace moe::cli {

namespace {
struct RunOptions {
  std::string model;
  std::string prompt;
  int64_t n_predict = 64;
  int threads = default_threads();
  bool json = false;
  runtime::SamplerOptions sampler;
};
}  // namespace

int default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt");
  cmd->add_option("-m,--model", o->model, "HF directory or GGUF file")->required();
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->required();
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")->capture_default_str();
  cmd->add_option("--temp", o->sampler.temperature, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o->sampler.top_k, "Sample from the k most likely tokens; 0 = all")->capture_default_str();
  cmd->add_option("--top-p", o->sampler.top_p, "Nucleus sampling threshold")->capture_default_str();
  cmd->add_option("--seed", o->sampler.seed, "Sampling seed")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Threads")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print {\"prompt_tokens\", \"tokens\", \"text\"} instead of streaming text");
  cmd->callback([o] {
    o->sampler.validate();
    const model::Model m = model::load_model(o->model);
    const tokenizer::Tokenizer tok(m.vocab);
    ThreadPool pool(o->threads);
    model::Transformer transformer(m, pool);
    const std::vector<int32_t> prompt_tokens = tok.encode(o->prompt, m.vocab.add_bos);
    runtime::GenerationOptions options;
    options.n_predict = o->n_predict;
    options.sampler = o->sampler;
    std::function<void(const std::string&)> stream;
    if (!o->json) {
      std::fputs(o->prompt.c_str(), stdout);
      stream = [](const std::string& piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      };
    }
    const runtime::GenerationResult result = runtime::generate(transformer, tok, prompt_tokens, options, stream);
    if (o->json) {
      nlohmann::ordered_json out = {{"prompt_tokens", result.prompt_tokens}, {"tokens", result.tokens}, {"text", result.text}};
      std::puts(out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    } else {
      std::puts("");
    }
    const double n_prompt = static_cast<double>(result.prompt_tokens.size());
    const double n_gen = static_cast<double>(result.tokens.size());
    std::fprintf(stderr, "prompt: %.0f tokens, %.1f tokens/s | generated: %.0f tokens, %.1f tokens/s (%d threads)\n",
                 n_prompt, n_prompt / std::max(1e-9, result.prefill_seconds), n_gen,
                 n_gen > 1 ? (n_gen - 1) / std::max(1e-9, result.decode_seconds) : 0.0, o->threads);
  });
}

}  // namespace moe::cli
