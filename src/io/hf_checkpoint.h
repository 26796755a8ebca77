// Hugging Face checkpoint directories: config.json plus model.safetensors, or shards
// model-0000i-of-0000N.safetensors listed by model.safetensors.index.json ("weight_map").
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace moe::io {

struct HfCheckpoint {
  std::string dir;
  nlohmann::json config;                  // config.json
  std::map<std::string, Tensor> tensors;  // borrowed from the mapped safetensors files
};

// Loads config.json and every tensor. Throws IoError for a missing file (or a directory with
// neither model.safetensors nor its index), FormatError naming the file and tensor for a shard
// that lacks a tensor the index lists, or a tensor present in two shards.
HfCheckpoint load_hf_checkpoint(const std::string& dir);

// Creates `dir` and writes config.json and the tensors, in order: one model.safetensors when
// max_shard_bytes is 0 or everything fits, else shards of at most max_shard_bytes (a larger
// tensor gets a shard of its own) and their index. Each file is written atomically.
void write_hf_checkpoint(const std::string& dir, const nlohmann::json& config,
                         const std::vector<std::pair<std::string, Tensor>>& tensors, int64_t max_shard_bytes = 0);

}  // namespace moe::io
