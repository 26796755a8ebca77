// ApiError: a request the server refuses, with its HTTP status and the fields of OpenAI's error
// object ({"error": {"message", "type", "param", "code"}}).
#pragma once

#include <optional>
#include <string>

#include "serve/json.h"

#include "core/error.h"

namespace moe::serve {

class ApiError : public Error {
 public:
  ApiError(int status, std::string message, std::optional<std::string> param = std::nullopt,
           std::optional<std::string> code = std::nullopt)
      : Error(message), status_(status), param_(std::move(param)), code_(std::move(code)) {}
  int status() const { return status_; }
  Json body() const;

 private:
  int status_;
  std::optional<std::string> param_;
  std::optional<std::string> code_;
};

// OpenAI's error object for `status` ("type": "server_error" for 5xx, else "invalid_request_error").
Json error_body(int status, const std::string& message, const std::optional<std::string>& param = {},
                const std::optional<std::string>& code = {});

// A 400 naming the request field.
inline ApiError bad_field(const std::string& field, const std::string& message) {
  return ApiError(400, "'" + field + "': " + message, field);
}

}  // namespace moe::serve
