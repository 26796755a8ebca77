// YAML configuration files (parallel.yaml, train.yaml): parsed with errors that name the file, and
// the line and column of a syntax error.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace moe::io {

// IoError if `path` cannot be opened; ConfigError "path:line:col: message" if it is not YAML.
YAML::Node read_yaml_file(const std::string& path);

}  // namespace moe::io
