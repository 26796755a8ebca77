// run_server: `moe serve` as a whole: the session opened on the model, the scheduler and the HTTP
// server started, then, on SIGTERM or SIGINT, new requests refused (503) while the queued and
// running ones finish; then it returns (exit 0). Under MPI, rank 0 serves HTTP and every rank
// steps the model in the layout of --config (EngineRanks).
#pragma once

#include <functional>
#include <string>

#include "parallel/mpi_runtime.h"
#include "runtime/session.h"
#include "serve/http_server.h"
#include "serve/scheduler.h"

namespace moe::serve {

struct ServeOptions {
  runtime::SessionOptions session;  // --model, -t, --kv-dtype, --config and the layout flags
  std::string served_model_name;    // the "model" of requests and /v1/models; empty: --model as given
  std::string chat_template;        // --chat-template FILE; empty: the model's own template
  HttpOptions http;                 // --host, --port, --api-key (n_handler_threads derived)
  SchedulerOptions scheduler;       // --max-num-seqs, --max-num-tokens, --max-queued
  double shutdown_timeout_s = 0;    // after SIGTERM, seconds left to requests under way; 0: all they need
  void validate() const;            // throws UsageError naming the flag
};

// Collective: every rank opens the session and serves until rank 0 stops; then `at_end` runs on
// every rank with the session (statistics files, reports).
void run_server(const parallel::MpiRuntime& mpi, ServeOptions options,
                const std::function<void(runtime::Session&)>& at_end = {});

}  // namespace moe::serve
