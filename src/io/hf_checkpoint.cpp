// Hugging Face checkpoint directories: loading single-file or sharded weights, and writing them
// sharded the way transformers' save_pretrained does (greedy in order, HF file names).
#include "io/hf_checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/error.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace moe::io {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfigFile = "config.json";
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

std::string join(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

bool is_file(const std::string& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

// A file left by an earlier write in the other layout would shadow or contradict the new one.
void remove_stale(const std::string& path) {
  std::error_code error;
  fs::remove(path, error);
  MOE_CHECK(!error, IoError, path, ": cannot remove stale file: ", error.message());
}

std::map<std::string, Tensor> load_shards(const std::string& dir, const std::string& index_path) {
  const nlohmann::json index = read_json_file(index_path);
  const auto weight_map = index.find("weight_map");
  MOE_CHECK(weight_map != index.end() && weight_map->is_object(), FormatError, index_path, ": no object 'weight_map'");
  std::map<std::string, std::vector<std::string>> names_by_shard;
  for (const auto& [name, shard] : weight_map->items()) {
    MOE_CHECK(shard.is_string(), FormatError, index_path, ": tensor '", name, "' maps to ", shard.dump(),
              ", expected a file name");
    names_by_shard[shard.get<std::string>()].push_back(name);
  }

  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> shard_of;  // tensor name -> path of the shard holding it
  for (const auto& [shard, names] : names_by_shard) {
    const std::string shard_path = join(dir, shard);
    MOE_CHECK(is_file(shard_path), FormatError, index_path, ": shard '", shard, "' of tensor '", names.front(),
              "' does not exist");
    const SafetensorsFile file = SafetensorsFile::open(shard_path);
    for (const auto& [name, tensor] : file.tensors()) {
      const auto [it, inserted] = shard_of.emplace(name, shard_path);
      MOE_CHECK(inserted, FormatError, shard_path, ": tensor '", name, "' is also in ", it->second);
      tensors.emplace(name, tensor);
    }
    for (const std::string& name : names)
      MOE_CHECK(file.tensors().count(name) != 0, FormatError, shard_path, ": tensor '", name, "' is listed in ",
                index_path, " but missing from this shard");
  }
  return tensors;
}

}  // namespace

HfCheckpoint load_hf_checkpoint(const std::string& dir) {
  HfCheckpoint checkpoint{dir, read_json_file(join(dir, kConfigFile)), {}};
  const std::string single = join(dir, kSingleFile);
  const std::string index = join(dir, kIndexFile);
  if (is_file(single)) {
    checkpoint.tensors = SafetensorsFile::open(single).tensors();
  } else if (is_file(index)) {
    checkpoint.tensors = load_shards(dir, index);
  } else {
    throw IoError(detail::concat(dir, ": no ", kSingleFile, " or ", kIndexFile));
  }
  return checkpoint;
}

void write_hf_checkpoint(const std::string& dir, const nlohmann::json& config,
                         const std::vector<std::pair<std::string, Tensor>>& tensors, int64_t max_shard_bytes) {
  MOE_CHECK(max_shard_bytes >= 0, UsageError, dir, ": max_shard_bytes is ", max_shard_bytes, ", expected >= 0");
  // A shard closes when the next tensor would overflow it; a tensor larger than the limit
  // therefore gets a shard of its own.
  std::vector<std::vector<std::pair<std::string, Tensor>>> shards(1);
  std::set<std::string> names;
  int64_t shard_bytes = 0;
  int64_t total_bytes = 0;
  for (const auto& entry : tensors) {
    MOE_CHECK(names.insert(entry.first).second, FormatError, dir, ": tensor '", entry.first, "' is given twice");
    const int64_t nbytes = entry.second.nbytes();
    if (max_shard_bytes > 0 && !shards.back().empty() && shard_bytes + nbytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(entry);
    shard_bytes += nbytes;
    total_bytes += nbytes;
  }

  std::error_code error;
  fs::create_directories(dir, error);
  MOE_CHECK(!error, IoError, dir, ": cannot create directory: ", error.message());
  write_json_file(join(dir, kConfigFile), config);
  // transformers refuses safetensors files whose metadata lacks a known "format".
  const std::map<std::string, std::string> metadata = {{"format", "pt"}};
  if (shards.size() == 1) {
    write_safetensors(join(dir, kSingleFile), tensors, metadata);
    remove_stale(join(dir, kIndexFile));
    return;
  }

  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    write_safetensors(join(dir, name), shards[i], metadata);
    for (const auto& entry : shards[i]) weight_map[entry.first] = name;
  }
  write_json_file(join(dir, kIndexFile), {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}});
  remove_stale(join(dir, kSingleFile));
}

}  // namespace moe::io
