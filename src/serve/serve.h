// run_server: `moe serve` as a whole: the session opened on the model, the scheduler and the HTTP
// server started, then, on SIGTERM or SIGINT, new requests refused (503) while the queued and
// running ones finish; then it returns (exit 0). One process: parallel layouts come later.
#pragma once

#include <string>

#include "parallel/mpi_runtime.h"
#include "serve/http_server.h"
#include "serve/scheduler.h"

namespace moe::serve {

struct ServeOptions {
  std::string model;              // --model: HF directory, GGUF file or training save directory
  std::string served_model_name;  // the "model" of requests and /v1/models; empty: --model as given
  std::string chat_template;      // --chat-template FILE; empty: the model's own template
  int threads = 0;                // compute threads; 0: the machine's cores
  HttpOptions http;               // --host, --port, --api-key (n_handler_threads derived)
  SchedulerOptions scheduler;     // --max-num-seqs, --max-num-tokens, --max-queued
  void validate() const;          // throws UsageError naming the flag
};

void run_server(const parallel::MpiRuntime& mpi, ServeOptions options);

}  // namespace moe::serve
