// ApiError: OpenAI's error object.
#include "serve/api_error.h"

namespace moe::serve {

Json error_body(int status, const std::string& message, const std::optional<std::string>& param,
                const std::optional<std::string>& code) {
  const char* type = status >= 500 ? "server_error" : "invalid_request_error";
  Json error = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (param) error["param"] = *param;
  if (code) error["code"] = *code;
  return {{"error", error}};
}

Json ApiError::body() const { return error_body(status_, what(), param_, code_); }

}  // namespace moe::serve
