// Typed readers of an HF config.json and of a GGUF file's architecture keys, naming the file and
// the key in their errors. The architecture tables (model/arch/*.cpp) read their keys through them.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf_metadata.h"

namespace moe::model {

class HfKeys {
 public:
  HfKeys(const nlohmann::json& json, const std::string& source) : json_(json), source_(source) {}

  template <typename T>
  T get(const char* key) const {
    MOE_CHECK(has(key), ConfigError, source_, ": missing key '", key, "'");
    return convert<T>(key);
  }
  template <typename T>
  T get(const char* key, T fallback) const {
    return has(key) ? convert<T>(key) : fallback;
  }
  bool has(const char* key) const { return json_.contains(key) && !json_[key].is_null(); }
  const std::string& source() const { return source_; }

 private:
  template <typename T>
  T convert(const char* key) const {
    try {
      return json_[key].get<T>();
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(detail::concat(source_, ": key '", key, "' has the wrong type (", json_[key].dump(), ")"));
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
