// run_server: set-up, the wait for a signal, and the drain.
#include "serve/serve.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "runtime/session.h"
#include "serve/chat_request.h"
#include "serve/engine_ranks.h"

namespace moe::serve {

namespace {

// SIGTERM and SIGINT blocked in this thread and every thread it starts, so that wait() receives
// the first; then they are unblocked here, so that a second one ends the process at once.
class ShutdownSignals {
 public:
  ShutdownSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~ShutdownSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  int wait() const {
    int signal = 0;
    sigwait(&set_, &signal);
    pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);
    return signal;
  }

 private:
  sigset_t set_{};
  sigset_t previous_{};
};

}  // namespace

void ServeOptions::validate() const {
  // Each running or queued request holds a handler thread: the bounds keep their number sane.
  MOE_CHECK(scheduler.max_num_seqs >= 1 && scheduler.max_num_seqs <= 1024, UsageError,
            "--max-num-seqs: must be in [1, 1024], got ", scheduler.max_num_seqs);
  MOE_CHECK(scheduler.max_num_tokens >= 1, UsageError, "--max-num-tokens: must be >= 1, got ",
            scheduler.max_num_tokens);
  MOE_CHECK(scheduler.max_queued >= 0 && scheduler.max_queued <= 4096, UsageError,
            "--max-queued: must be in [0, 4096], got ", scheduler.max_queued);
  MOE_CHECK(http.port >= 0 && http.port <= 65535, UsageError, "--port: must be in [0, 65535], got ", http.port);
  // Checked before the server listens (the rest of the model is checked as it loads).
  MOE_CHECK(std::filesystem::exists(session.model), IoError, session.model, ": no such file or directory");
  MOE_CHECK(shutdown_timeout_s >= 0 && shutdown_timeout_s <= 1e6, UsageError,
            "--shutdown-timeout: must be in [0, 1e6] seconds, got ", shutdown_timeout_s);
  session.validate();
}

void run_server(const parallel::MpiRuntime& mpi, ServeOptions options,
                const std::function<void(runtime::Session&)>& at_end) {
  options.validate();
  const ShutdownSignals signals;  // before any thread starts
  // httplib 0.11.4 writes without MSG_NOSIGNAL: a write to a client that left must fail with
  // EPIPE, not end the process.
  std::signal(SIGPIPE, SIG_IGN);

  if (mpi.world_rank() != 0) {  // rank 0 alone speaks HTTP and tells the others what to do
    const std::unique_ptr<runtime::Session> session = runtime::Session::open(mpi, options.session);
    EngineRanks(*session).follow();
    if (at_end) at_end(*session);
    return;
  }

  // A --chat-template file is read now (a bad one stops the server before it listens); the
  // model's own template once the model is loaded.
  ServedChatTemplate chat;
  if (!options.chat_template.empty()) chat = served_chat_template(options.chat_template, "");

  // Listening before the model loads: /health answers 503 until it is ready.
  OpenStreams streams;
  ServeContext context;
  context.streams = &streams;
  context.model.name = options.served_model_name.empty() ? options.session.model : options.served_model_name;
  // Every running or queued request holds a handler thread; the others answer at once (503, health).
  options.http.n_handler_threads = static_cast<int>(options.scheduler.max_num_seqs + options.scheduler.max_queued) + 16;
  HttpServer http(options.http, context);
  const int port = http.bind();
  http.start();
  std::fprintf(stderr, "moe serve: loading %s; http://%s:%d/health answers 503 until it is ready\n",
               options.session.model.c_str(), options.http.host.c_str(), port);
  std::fflush(stderr);

  const std::unique_ptr<runtime::Session> session = runtime::Session::open(mpi, options.session);
  context.model.tokenizer = &session->tokenizer();
  context.model.context = session->model().config.max_positions;
  context.model.max_n = options.scheduler.max_num_seqs;
  if (options.chat_template.empty()) chat = served_chat_template("", session->tokenizer().vocab().chat_template);
  if (!chat.chat_template)
    std::fprintf(stderr, "moe serve: /v1/chat/completions will answer 400: %s\n", chat.missing.c_str());
  context.chat = &chat;
  Scheduler scheduler(*session, options.scheduler);
  context.scheduler = &scheduler;
  context.ready = true;
  const std::string pool = session->max_request_positions()
                               ? std::to_string(session->kv_stats().blocks) + " KV blocks per rank"
                               : "a KV pool that grows";
  // The pid is the process to send SIGTERM to under mpirun (mpirun itself ends the job at once).
  std::fprintf(stderr,
               "moe serve: serving %s on http://%s:%d (%d ranks x %d threads, --max-num-seqs %lld, %s, pid %d)\n",
               context.model.name.c_str(), options.http.host.c_str(), port, session->world().size(), session->threads(),
               static_cast<long long>(options.scheduler.max_num_seqs), pool.c_str(), static_cast<int>(getpid()));
  std::fflush(stderr);

  const int signal = signals.wait();
  scheduler.close();
  std::fprintf(stderr, "moe serve: %s: refusing new requests, finishing those under way\n",
               signal == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stderr);
  scheduler.drain(options.shutdown_timeout_s > 0
                      ? std::chrono::milliseconds(static_cast<int64_t>(options.shutdown_timeout_s * 1000))
                      : std::chrono::milliseconds::max());
  streams.wait_until_none();
  http.stop();
  if (at_end) at_end(*session);
  std::fputs("moe serve: stopped\n", stderr);
}

}  // namespace moe::serve
