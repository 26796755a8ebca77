// `moe eval --perplexity FILE`: perplexity as llama-perplexity computes it.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "model/transformer.h"
#include "runtime/perplexity.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {

namespace {
struct EvalOptions {
  std::string model;
  std::string text_file;
  int64_t n_ctx = 512;
  int threads = default_threads();
  bool json = false;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MOE_CHECK(in.good(), IoError, path, ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Score a text file: perplexity");
  cmd->add_option("-m,--model", o->model, "HF directory or GGUF file")->required();
  cmd->add_option("--perplexity", o->text_file, "UTF-8 text file to score")->required();
  cmd->add_option("-c,--ctx", o->n_ctx, "Window size in tokens (non-overlapping windows)")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Threads")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print {\"perplexity\", \"tokens_scored\"}");
  cmd->callback([o] {
    const std::string text = read_text(o->text_file);
    const model::Model m = model::load_model(o->model);
    const tokenizer::Tokenizer tok(m.vocab);
    ThreadPool pool(o->threads);
    model::Transformer transformer(m, pool);
    const std::vector<int32_t> tokens = tok.encode(text, m.vocab.add_bos);
    const int64_t n_windows = static_cast<int64_t>(tokens.size()) / std::max<int64_t>(1, o->n_ctx);
    MOE_CHECK(n_windows >= 1, UsageError, "--perplexity: ", o->text_file, " has ", tokens.size(),
              " tokens, fewer than --ctx ", o->n_ctx);
    std::fprintf(stderr, "moe eval: %zu tokens, %lld windows of %lld\n", tokens.size(),
                 static_cast<long long>(n_windows), static_cast<long long>(o->n_ctx));
    const runtime::PerplexityResult result =
        runtime::perplexity(transformer, tokens, o->n_ctx, m.vocab.bos_id, m.vocab.add_bos,
                            [&](int64_t window, double ppl) {
                              std::fprintf(stderr, "[%lld/%lld] %.4f\n", static_cast<long long>(window + 1),
                                           static_cast<long long>(n_windows), ppl);
                            });
    if (o->json) {
      std::puts(nlohmann::json({{"perplexity", result.perplexity}, {"tokens_scored", result.tokens_scored}}).dump().c_str());
    } else {
      std::printf("perplexity: %.4f over %lld tokens\n", result.perplexity, static_cast<long long>(result.tokens_scored));
    }
  });
}

}  // namespace moe::cli
