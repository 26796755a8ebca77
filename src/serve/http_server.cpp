// HttpServer: routes, authentication, error bodies, health and the model list.
#include "serve/http_server.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "serve/api_error.h"

namespace moe::serve {

namespace {

constexpr size_t kMaxBodyBytes = 16u << 20;

// Compares in time independent of where the strings differ.
bool same_key(const std::string& given, const std::string& key) {
  unsigned char diff = given.size() == key.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ key[i % key.size()]);
  return diff == 0;
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void send_json(httplib::Response& response, int status, const Json& body) {
  response.status = status;
  response.set_content(dump_json(body), "application/json");
}

void respond(httplib::Response& response, const std::function<void()>& handler) {
  try {
    handler();
  } catch (const ApiError& e) {
    send_json(response, e.status(), e.body());
  } catch (const Overloaded& e) {
    send_json(response, 503, error_body(503, e.what()));
  } catch (const std::exception& e) {
    send_json(response, 500, error_body(500, e.what()));
  }
}

HttpServer::HttpServer(const HttpOptions& options, const ServeContext& context) : options_(options) {
  const int n_threads = options.n_handler_threads;
  // httplib owns and deletes the queue it gets.
  server_.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  server_.set_payload_max_length(kMaxBodyBytes);

  const std::string key = options.api_key;
  server_.set_pre_routing_handler([key, &context](const httplib::Request& request, httplib::Response& response) {
    if (request.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    if (!key.empty() && !same_key(request.get_header_value("Authorization"), "Bearer " + key)) {
      send_json(response, 401,
                error_body(401, "a missing or wrong API key: send 'Authorization: Bearer <--api-key>'", {},
                           "invalid_api_key"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!context.ready) {
      send_json(response, 503, error_body(503, "the model is still loading; GET /health says when it is ready"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Statuses httplib sets itself (no route, body too large, bad request line) get the error object too.
  server_.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& request, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const std::string message = response.status == 404   ? "no route " + request.method + " " + request.path
                                    : response.status == 413 ? "the request body is larger than 16 MiB"
                                                             : "HTTP status " + std::to_string(response.status);
        send_json(response, response.status, error_body(response.status, message));
        return httplib::Server::HandlerResponse::Handled;
      }));
  server_.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
    send_json(response, 500, error_body(500, "internal error"));
  });

  server_.Get("/health", [&context](const httplib::Request&, httplib::Response& response) {
    if (context.ready)
      send_json(response, 200, {{"status", "ok"}});
    else
      send_json(response, 503, {{"status", "loading"}});
  });
  const int64_t created = unix_seconds();
  server_.Get("/v1/models", [&context, created](const httplib::Request&, httplib::Response& response) {
    send_json(response, 200,
              {{"object", "list"},
               {"data", Json::array({{{"id", context.model.name},
                                      {"object", "model"},
                                      {"created", created},
                                      {"owned_by", "moe.cpp"},
                                      {"max_model_len", context.model.context}}})}});
  });
  add_completions_endpoint(server_, context);
  add_chat_endpoint(server_, context);
  add_tokenize_endpoints(server_, context);
  add_stats_endpoints(server_, context);
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() {
  errno = 0;
  const int port = options_.port == 0 ? server_.bind_to_any_port(options_.host)
                                      : (server_.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  MOE_CHECK(port > 0, IoError, "--host ", options_.host, " --port ", options_.port, ": cannot listen there",
            errno ? std::string(" (") + std::strerror(errno) + ")" : std::string());
  return port;
}

void HttpServer::start() {
  thread_ = std::thread([this] {
    server_.listen_after_bind();
    listen_returned_ = true;
  });
  // stop() acts only on a running server: wait until it runs, so that none is left behind.
  while (!server_.is_running() && !listen_returned_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpServer::stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace moe::serve
