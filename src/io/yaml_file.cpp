// Parsing a YAML file with errors that point into it.
#include "io/yaml_file.h"

#include <fstream>

#include "core/error.h"

namespace moe::io {

YAML::Node read_yaml_file(const std::string& path) {
  std::ifstream in(path);
  MOE_CHECK(in.good(), IoError, path, ": cannot open");
  try {
    return YAML::Load(in);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(detail::concat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
}

std::string yaml_key(const YAML::Node& key, const std::string& where) {
  MOE_CHECK(key.IsScalar() || key.IsNull(), ConfigError, where, ": a key must be a name, not a ",
            key.IsMap() ? "mapping" : "list");
  return key.IsNull() ? "null" : key.Scalar();
}

}  // namespace moe::io
