// Typed reads of request fields, each failure a 400 that names the field.
#include "serve/request_fields.h"

#include <cmath>

#include "serve/api_error.h"

namespace moe::serve {

namespace {
const nlohmann::json* field(const nlohmann::json& object, const std::string& key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}
}  // namespace

nlohmann::json parse_object(const std::string& body) {
  nlohmann::json object = nlohmann::json::parse(body, nullptr, false);
  if (object.is_discarded()) throw ApiError(400, "the request body is not valid JSON");
  if (!object.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return object;
}

std::optional<bool> get_bool(const nlohmann::json& object, const std::string& key) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) throw bad_field(key, "must be a boolean");
  return value->get<bool>();
}

std::optional<int64_t> get_int(const nlohmann::json& object, const std::string& key, int64_t min, int64_t max) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number_integer()) throw bad_field(key, "must be an integer");
  if (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(max))
    throw bad_field(key, "must be at most " + std::to_string(max));
  const auto number = value->get<int64_t>();
  if (number < min || number > max)
    throw bad_field(
        key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + std::to_string(number));
  return number;
}

std::optional<double> get_number(const nlohmann::json& object, const std::string& key, double min, double max) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number()) throw bad_field(key, "must be a number");
  const auto number = value->get<double>();
  if (!std::isfinite(number) || number < min || number > max)
    throw bad_field(key, "must be in [" + nlohmann::json(min).dump() + ", " + nlohmann::json(max).dump() + "], got " +
                             value->dump());
  return number;
}

std::optional<std::string> get_string(const nlohmann::json& object, const std::string& key) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_string()) throw bad_field(key, "must be a string");
  return value->get<std::string>();
}

std::vector<int32_t> token_ids(const nlohmann::json& value, const std::string& key, int32_t n_vocab) {
  if (!value.is_array()) throw bad_field(key, "must be an array of token ids");
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (const nlohmann::json& id : value) {
    if (!id.is_number_integer()) throw bad_field(key, "token ids must be integers");
    if (id.is_number_unsigned() ? id.get<uint64_t>() >= static_cast<uint64_t>(n_vocab)
                                : id.get<int64_t>() < 0 || id.get<int64_t>() >= n_vocab)
      throw bad_field(key, "token id " + id.dump() + " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

}  // namespace moe::serve
