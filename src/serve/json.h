// Json: the JSON type of the server's bodies (keys in the order written, as OpenAI's responses
// have them) and how a body is written out.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace moe::serve {

using Json = nlohmann::ordered_json;

// A body as sent: invalid UTF-8 is replaced, never thrown.
inline std::string dump_json(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace moe::serve
