// `moe serve`: an OpenAI-compatible HTTP server (src/serve/), alone or under mpirun in any
// parallel layout: parses the options and runs the server until SIGTERM or SIGINT.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/session_options.h"
#include "serve/serve.h"

namespace moe::cli {

void add_serve_command(CLI::App& app, const CliContext& context) {
  auto o = std::make_shared<serve::ServeOptions>();
  auto session = std::make_shared<SessionCliOptions>();
  CLI::App* cmd = app.add_subcommand("serve",
                                     "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions, "
                                     "/v1/models, /health, /metrics, /v1/moe/stats, /tokenize, "
                                     "/detokenize), alone or under mpirun in any parallel layout");
  add_session_options(cmd, *session);
  cmd->add_option("--host", o->http.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->http.port, "Port to listen on; 0: any free port (printed)")->capture_default_str();
  cmd->add_option("--max-num-seqs", o->scheduler.max_num_seqs, "Requests decoded together in one step")
      ->capture_default_str();
  cmd->add_option("--max-num-tokens", o->scheduler.max_num_tokens,
                  "Tokens in one step (decoding tokens plus prompt chunks)")
      ->capture_default_str();
  cmd->add_option("--max-queued", o->scheduler.max_queued,
                  "Requests waiting beyond the batch's free places; more get 503 at once")
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", o->shutdown_timeout_s,
                  "After SIGTERM, seconds the requests under way may take; then they fail (0: all they need)")
      ->capture_default_str();
  cmd->add_option("--api-key", o->http.api_key, "Require 'Authorization: Bearer KEY' (all routes but /health)");
  cmd->add_option("--served-model-name", o->served_model_name,
                  "The model's name in requests and /v1/models (default: --model as given)");
  cmd->add_option("--chat-template", o->chat_template,
                  "A Jinja chat template file for /v1/chat/completions (default: the model's own)");
  const parallel::MpiRuntime& mpi = context.mpi;
  cmd->callback([o, session, &mpi] {
    o->session = session->resolve();
    serve::run_server(mpi, *o, [&](runtime::Session& served) {
      const std::string report = finish_session(served, *session, o->session);
      if (served.world().rank() == 0 && !report.empty()) std::fputs(report.c_str(), stderr);
    });
  });
}

}  // namespace moe::cli
