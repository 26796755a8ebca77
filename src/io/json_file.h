// JSON files (config.json, index and placement files): read with errors naming the file, written
// atomically with two-space indentation as Hugging Face's tools write them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace moe::io {

// Any JSON value; throws IoError if `path` cannot be read, FormatError (naming it) if it is not JSON.
nlohmann::json read_json_value(const std::string& path);
// The same, and FormatError unless the value is a JSON object.
nlohmann::json read_json_file(const std::string& path);
// Writes `value` indented by 2 with a final newline; atomic.
void write_json_file(const std::string& path, const nlohmann::json& value);

}  // namespace moe::io
