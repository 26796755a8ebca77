// YAML configuration files (parallel.yaml, train.yaml): parsed with errors that name the file, and
// the line and column of a syntax error.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace moe::io {

// IoError if `path` cannot be opened; ConfigError "path:line:col: message" if it is not YAML.
YAML::Node read_yaml_file(const std::string& path);
// The text of a mapping's key; ConfigError naming `where` for a key that is a list or a mapping
// (YAML allows them; moe.cpp's files never use them).
std::string yaml_key(const YAML::Node& key, const std::string& where);

}  // namespace moe::io
