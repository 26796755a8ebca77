// run_server: set-up, the wait for a signal, and the drain.
#include "serve/serve.h"

#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <cstdio>

#include "core/error.h"
#include "runtime/session.h"
#include "serve/chat_request.h"

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
  MOE_CHECK(threads >= 0, UsageError, "-t: must be >= 0, got ", threads);
}

void run_server(const parallel::MpiRuntime& mpi, ServeOptions options) {
  MOE_CHECK(mpi.world_size() == 1, UsageError, "moe serve: parallel layouts are not supported yet");
  options.validate();
  const ShutdownSignals signals;  // before any thread starts
  // httplib 0.11.4 writes without MSG_NOSIGNAL: a write to a client that left must fail with
  // EPIPE, not end the process.
  std::signal(SIGPIPE, SIG_IGN);

  runtime::SessionOptions session_options;
  session_options.model = options.model;
  session_options.threads = options.threads;
  const std::unique_ptr<runtime::Session> session = runtime::Session::open(mpi, session_options);

  const ServedChatTemplate chat =
      served_chat_template(options.chat_template, session->tokenizer().vocab().chat_template);
  if (!chat.chat_template)
    std::fprintf(stderr, "moe serve: /v1/chat/completions will answer 400: %s\n", chat.missing.c_str());

  OpenStreams streams;
  ServeContext context;
  context.streams = &streams;
  context.chat = &chat;
  context.model.name = options.served_model_name.empty() ? options.model : options.served_model_name;
  context.model.tokenizer = &session->tokenizer();
  context.model.context = session->model().config.max_positions;
  Scheduler scheduler(*session, options.scheduler);
  context.scheduler = &scheduler;

  // Every running or queued request holds a handler thread; the others answer at once (503, health).
  options.http.n_handler_threads = static_cast<int>(options.scheduler.max_num_seqs + options.scheduler.max_queued) + 16;
  HttpServer http(options.http, context);
  const int port = http.bind();
  http.start();
  std::fprintf(stderr, "moe serve: serving %s on http://%s:%d (%d threads, --max-num-seqs %lld)\n",
               context.model.name.c_str(), options.http.host.c_str(), port, session->threads(),
               static_cast<long long>(options.scheduler.max_num_seqs));
  std::fflush(stderr);

  const int signal = signals.wait();
  scheduler.close();
  std::fprintf(stderr, "moe serve: %s: refusing new requests, finishing those under way\n",
               signal == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stderr);
  scheduler.drain();
  streams.wait_until_none();
  http.stop();
  std::fputs("moe serve: stopped\n", stderr);
}

}  // namespace moe::serve
