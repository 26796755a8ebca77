// Typed readers of an HF config.json and of a GGUF file's architecture keys, naming the file and
// the key in their errors. The architecture tables (model/arch/*.cpp) read their keys through them.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf_metadata.h"

namespace moe::model {

// Values are type-checked: an integer key takes only a JSON integer (3.5, true or "4" are refused,
// not truncated or converted), a float key a finite number that fits float32, a flag true or false,
// a string a string. Errors name the file and the key and quote the value (escaped, shortened).
class HfKeys {
 public:
  HfKeys(const nlohmann::json& json, const std::string& source) : json_(json), source_(source) {}

  // A required key; null counts as missing.
  template <typename T>
  T get(const char* key) const {
    MOE_CHECK(has(key), ConfigError, source_, ": missing key '", key, "'");
    return convert<T>(key);
  }
  // An optional key: `fallback` when absent. null is refused (HF would keep None and fail or
  // compute something else), except for keys whose HF meaning of null is "unset" (NullIs::kUnset).
  enum class NullIs { kRefused, kUnset };
  template <typename T>
  T get(const char* key, T fallback, NullIs null = NullIs::kRefused) const {
    if (!json_.contains(key)) return fallback;
    if (json_[key].is_null()) {
      MOE_CHECK(null == NullIs::kUnset, ConfigError, source_, ": key '", key, "' is null; remove it or give a value");
      return fallback;
    }
    return convert<T>(key);
  }
  bool has(const char* key) const { return json_.contains(key) && !json_[key].is_null(); }
  bool is_array(const char* key) const { return json_.contains(key) && json_[key].is_array(); }
  const std::string& source() const { return source_; }
  const nlohmann::json& json() const { return json_; }
  // `value` (escaped: control bytes and non-ASCII as \u escapes, invalid UTF-8 replaced), at most
  // 60 characters.
  static std::string quote(const nlohmann::json& value) {
    std::string text = value.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    return text;
  }

 private:
  template <typename T>
  T convert(const char* key) const {
    const nlohmann::json& value = json_[key];
    const auto refuse = [&](const char* expected) {
      return ConfigError(detail::concat(source_, ": key '", key, "' must be ", expected, ", got ", quote(value)));
    };
    if constexpr (std::is_same_v<T, int64_t>) {
      if (!value.is_number_integer() ||
          (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()}))
        throw refuse("an integer");
      return value.get<int64_t>();
    } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      if (!value.is_number()) throw refuse("a number");
      const double number = value.get<double>();
      if (!std::isfinite(number) || std::fabs(number) > std::numeric_limits<T>::max())
        throw refuse(std::is_same_v<T, float> ? "a finite number that fits float32" : "a finite number");
      return static_cast<T>(number);
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!value.is_boolean()) throw refuse("true or false");
      return value.get<bool>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!value.is_string()) throw refuse("a string");
      return value.get<std::string>();
    } else {
      static_assert(std::is_same_v<T, std::vector<int64_t>>);
      if (!value.is_array()) throw refuse("an array of integers");
      std::vector<int64_t> list;
      for (const nlohmann::json& item : value) {
        if (!item.is_number_integer() ||
            (item.is_number_unsigned() && item.get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()}))
          throw refuse("an array of integers");
        list.push_back(item.get<int64_t>());
      }
      return list;
    }
  }
  const nlohmann::json& json_;
  const std::string& source_;
};

// Keys under "<general.architecture>." of a GGUF file.
class GgufKeys {
 public:
  GgufKeys(const io::GgufMetadata& meta, const std::string& arch, const std::string& source)
      : meta_(meta), prefix_(arch + "."), source_(source) {}

  int64_t require_int(const std::string& key) const {
    const auto value = meta_.get_int(prefix_ + key);
    MOE_CHECK(value.has_value(), FormatError, source_, ": missing key '", prefix_ + key, "'");
    return *value;
  }
  std::optional<int64_t> get_int(const std::string& key) const { return meta_.get_int(prefix_ + key); }
  std::optional<double> get_float(const std::string& key) const { return meta_.get_float(prefix_ + key); }
  std::optional<bool> get_bool(const std::string& key) const { return meta_.get_bool(prefix_ + key); }
  const io::GgufMetadata& meta() const { return meta_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& source() const { return source_; }

 private:
  const io::GgufMetadata& meta_;
  std::string prefix_;
  const std::string& source_;
};

}  // namespace moe::model
