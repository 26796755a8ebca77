// Typed reads of a JSON request body's fields: a missing or null field is "unset", a field of the
// wrong type or range a 400 naming it. Nothing here throws anything but ApiError. Requests are
// read as nlohmann::json (a sorted map: a body of a million keys parses in n log n, where the
// insertion-ordered Json of responses would take n^2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moe::serve {

// The body as a JSON object; 400 for malformed JSON or another value.
nlohmann::json parse_object(const std::string& body);

std::optional<bool> get_bool(const nlohmann::json& object, const std::string& key);
std::optional<int64_t> get_int(const nlohmann::json& object, const std::string& key, int64_t min, int64_t max);
std::optional<double> get_number(const nlohmann::json& object, const std::string& key, double min, double max);
std::optional<std::string> get_string(const nlohmann::json& object, const std::string& key);
// An array of token ids in [0, n_vocab).
std::vector<int32_t> token_ids(const nlohmann::json& value, const std::string& key, int32_t n_vocab);

}  // namespace moe::serve
