// `moe eval --perplexity FILE`: perplexity as llama-perplexity computes it. Under mpirun the
// windows are spread over the replicas (and attention-DP ranks) and the sums reduced.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/session_options.h"
#include "core/error.h"
#include "runtime/perplexity.h"

namespace moe::cli {

namespace {
struct EvalOptions {
  SessionCliOptions session;
  std::string text_file;
  int64_t n_ctx = 512;
  bool json = false;
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
  CLI::App* cmd = app.add_subcommand("eval", "Score a text file: perplexity");
  add_session_options(cmd, o->session);
  cmd->add_option("--perplexity", o->text_file, "UTF-8 text file to score")->required();
  cmd->add_option("-c,--ctx", o->n_ctx, "Window size in tokens (non-overlapping windows)")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print {\"perplexity\", \"tokens_scored\"}");
  const parallel::MpiRuntime& mpi = context.mpi;
  cmd->callback([o, &mpi] {
    const runtime::SessionOptions options = o->session.resolve();
    const std::string text = read_text(o->text_file);
    const std::unique_ptr<runtime::Session> session = runtime::Session::open(mpi, options);
    parallel::Communicator& world = session->world();
    const std::vector<int32_t> tokens = session->tokenizer().encode(text, session->model().vocab.add_bos);
    const int64_t n_windows = static_cast<int64_t>(tokens.size()) / std::max<int64_t>(1, o->n_ctx);
    MOE_CHECK(n_windows >= 1, UsageError, "--perplexity: ", o->text_file, " has ", tokens.size(),
              " tokens, fewer than --ctx ", o->n_ctx);
    const bool prints = world.rank() == 0;
    if (prints)
      std::fprintf(stderr, "moe eval: %zu tokens, %lld windows of %lld, %d ranks\n", tokens.size(),
                   static_cast<long long>(n_windows), static_cast<long long>(o->n_ctx), world.size());
    std::function<void(int64_t, double)> on_window;
    if (prints && world.size() == 1)
      on_window = [n_windows](int64_t window, double ppl) {
        std::fprintf(stderr, "[%lld/%lld] %.4f\n", static_cast<long long>(window + 1),
                     static_cast<long long>(n_windows), ppl);
      };
    const runtime::NllSum local = runtime::score_windows(*session, tokens, o->n_ctx, on_window);
    // One rank per window contributes its sum.
    const bool reports = session->reports();
    double sums[2] = {reports ? local.nll : 0.0, reports ? static_cast<double>(local.count) : 0.0};
    if (world.size() > 1) world.allreduce_sum(sums, 2);
    const double perplexity = std::exp(sums[0] / sums[1]);
    const auto scored = static_cast<int64_t>(sums[1]);
    const std::string report = finish_session(*session, o->session, options);
    if (!prints) return;
    std::fputs(report.c_str(), stderr);
    if (o->json)
      std::puts(nlohmann::json({{"perplexity", perplexity}, {"tokens_scored", scored}}).dump().c_str());
    else
      std::printf("perplexity: %.4f over %lld tokens\n", perplexity, static_cast<long long>(scored));
  });
}

}  // namespace moe::cli
