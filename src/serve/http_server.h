// HttpServer: cpp-httplib's server with the routes of every endpoint file, the API key check
// (every route but /health), OpenAI's error object on every error status, GET /health,
// GET /v1/models and GET /metrics; it serves on its own thread between start() and stop().
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include <httplib.h>

#include "serve/endpoints.h"

namespace moe::serve {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0: any free port
  std::string api_key;        // empty: no key asked
  int n_handler_threads = 8;  // connections handled at once
};

class HttpServer {
 public:
  // `context` must outlive the server.
  HttpServer(const HttpOptions& options, const ServeContext& context);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the address; returns the port. Throws IoError.
  int bind();
  // Serves on a new thread; returns once it accepts connections.
  void start();
  // Stops accepting, finishes the responses under way and joins the threads.
  void stop();

 private:
  HttpOptions options_;
  httplib::Server server_;
  std::atomic<bool> listen_returned_ = false;
  std::thread thread_;
};

}  // namespace moe::serve
