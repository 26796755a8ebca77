// Router options from YAML and from command-line values: Megatron-Core's key names (underscores in
// YAML, dashes on the command line), read into RouterTrainConfig with errors naming file and key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <span>
#include <string>
#include <vector>

#include "train/router_train.h"

namespace moe::train {

// One router key: its help, whether the command line takes it without a value (Megatron's
// store_true flags), and how it is read from text (`where` prefixes errors) and printed.
struct RouterKey {
  const char* key;
  const char* help;
  bool is_flag;
  void (*set)(RouterTrainConfig& config, const std::string& value, const std::string& where);
  std::string (*get)(const RouterTrainConfig& config);
};

// The table of every router key, in RouterTrainConfig's order: the one list `moe route`,
// `moe train` and the YAML readers use.
std::span<const RouterKey> router_key_table();
// The router keys' names, in the table's order.
const std::vector<std::string>& router_train_keys();
// True for the keys that take no value on the command line (Megatron's store_true flags).
bool router_train_key_is_flag(const std::string& key);

// Sets `key` from its text ("2", "0.01", "true", "sigmoid"); `where` prefixes errors ("f.yaml: key
// 'x'" or "--x"). ConfigError for an unknown key (with a "did you mean") or a bad value.
void set_router_train_key(RouterTrainConfig& config, const std::string& key, const std::string& value,
                          const std::string& where);

// Reads the router keys of a parsed YAML document (a full training config is fine). If the top
// level has a `moe:` mapping, every key in it must be a router key (or one of Megatron's other MoE
// keys, left to their readers). Router keys at the top level are read too (a key given in both
// places is an error); other top-level keys belong to other readers and are skipped, except keys
// that start with "moe_" or look like a misspelt router key, which are errors.
// `where` names the file in errors. Does not validate: the caller may override keys first.
void read_router_train_keys(const YAML::Node& root, const std::string& where, RouterTrainConfig& config);

// The same from a file (IoError if it cannot be read, ConfigError if it is not YAML).
void read_router_train_file(const std::string& yaml_path, RouterTrainConfig& config);

}  // namespace moe::train
