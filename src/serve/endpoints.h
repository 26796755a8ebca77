// What the endpoint files share: the served model and scheduler they call, the routes each file
// adds, and how a handler answers (a JSON body, or OpenAI's error object for whatever it threw).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

#include <httplib.h>

#include "serve/completion_request.h"
#include "serve/json.h"
#include "serve/scheduler.h"

namespace moe::serve {

// Streamed responses still being written. httplib cuts a stream short once the server stops, so
// the server waits for none to be left first.
class OpenStreams {
 public:
  void add() {
    const std::lock_guard lock(mutex_);
    ++n_;
  }
  void remove() {
    {
      const std::lock_guard lock(mutex_);
      --n_;
    }
    none_.notify_all();
  }
  void wait_until_none() {
    std::unique_lock lock(mutex_);
    none_.wait(lock, [&] { return n_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable none_;
  int n_ = 0;
};

struct ServedChatTemplate;

// What the routes use. The HTTP server starts before the model is loaded: until `ready` is set
// (after every other member), every route but /health answers 503.
struct ServeContext {
  ServedModel model;
  const ServedChatTemplate* chat = nullptr;  // the chat template, or why there is none
  Scheduler* scheduler = nullptr;
  OpenStreams* streams = nullptr;
  std::atomic<bool> ready = false;
};

void add_completions_endpoint(httplib::Server& server, const ServeContext& context);  // POST /v1/completions
void add_chat_endpoint(httplib::Server& server, const ServeContext& context);         // POST /v1/chat/completions
void add_tokenize_endpoints(httplib::Server& server, const ServeContext& context);    // POST /tokenize, /detokenize
void add_stats_endpoints(httplib::Server& server, const ServeContext& context);       // GET /metrics, /v1/moe/stats

void send_json(httplib::Response& response, int status, const Json& body);
// Runs `handler`; what it throws becomes the response: ApiError its status, Overloaded 503,
// anything else 500.
void respond(httplib::Response& response, const std::function<void()>& handler);

}  // namespace moe::serve
