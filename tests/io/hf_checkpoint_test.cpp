// Hugging Face checkpoint directories: single-file and 3-shard round trips with HF's file names and
// index, and the errors for missing, incomplete or contradictory shards.
#include "io/hf_checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace moe::io {
namespace {

namespace fs = std::filesystem;
using testing::tmp_path;

// A fresh, empty directory under the test temp dir.
std::string fresh_dir(const std::string& name) {
  const std::string dir = tmp_path(name);
  fs::remove_all(dir);
  return dir;
}

// Tensor i holds 16 floats (64 bytes) equal to i * 100 + index.
std::vector<std::pair<std::string, Tensor>> numbered_tensors(int count) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (int i = 0; i < count; ++i) {
    std::vector<float> values(16);
    for (int j = 0; j < 16; ++j) values[j] = static_cast<float>(i * 100 + j);
    tensors.emplace_back("model.layers." + std::to_string(i) + ".mlp.gate.weight", Tensor::from_f32({4, 4}, values));
  }
  return tensors;
}

const nlohmann::json kConfig = {{"model_type", "mixtral"}, {"num_local_experts", 8}, {"hidden_size", 4}};

void expect_same_tensors(const std::map<std::string, Tensor>& got,
                         const std::vector<std::pair<std::string, Tensor>>& expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [name, tensor] : expected) {
    ASSERT_EQ(got.count(name), 1u) << name;
    EXPECT_EQ(got.at(name).shape(), tensor.shape()) << name;
    EXPECT_EQ(got.at(name).to_f32(), tensor.to_f32()) << name;
  }
}

std::string error_of(const std::string& dir) {
  try {
    load_hf_checkpoint(dir);
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

TEST(HfCheckpoint, SingleFileRoundTrip) {
  const std::string dir = fresh_dir("hf_single");
  const auto tensors = numbered_tensors(3);
  write_hf_checkpoint(dir, kConfig, tensors);
  EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
  EXPECT_EQ(SafetensorsFile::open(dir + "/model.safetensors").metadata().at("format"), "pt");

  const HfCheckpoint checkpoint = load_hf_checkpoint(dir);
  EXPECT_EQ(checkpoint.dir, dir);
  EXPECT_EQ(checkpoint.config, kConfig);
  expect_same_tensors(checkpoint.tensors, tensors);
}

TEST(HfCheckpoint, ShardedRoundTripWithThreeShards) {
  const std::string dir = fresh_dir("hf_sharded");
  const auto tensors = numbered_tensors(5);  // 64 bytes each: shards of 2, 2 and 1 tensors
  write_hf_checkpoint(dir, kConfig, tensors, 128);
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors"));
  const char* shard_names[] = {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                               "model-00003-of-00003.safetensors"};
  const size_t shard_sizes[] = {2, 2, 1};
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(SafetensorsFile::open(dir + "/" + shard_names[i]).tensors().size(), shard_sizes[i]);

  const nlohmann::json index = read_json_file(dir + "/model.safetensors.index.json");
  EXPECT_EQ(index["metadata"]["total_size"], 5 * 64);
  ASSERT_EQ(index["weight_map"].size(), 5u);
  EXPECT_EQ(index["weight_map"]["model.layers.0.mlp.gate.weight"], shard_names[0]);
  EXPECT_EQ(index["weight_map"]["model.layers.3.mlp.gate.weight"], shard_names[1]);
  EXPECT_EQ(index["weight_map"]["model.layers.4.mlp.gate.weight"], shard_names[2]);

  const HfCheckpoint checkpoint = load_hf_checkpoint(dir);
  EXPECT_EQ(checkpoint.config, kConfig);
  expect_same_tensors(checkpoint.tensors, tensors);

  // Rewriting unsharded removes the index, which would otherwise contradict model.safetensors.
  write_hf_checkpoint(dir, kConfig, numbered_tensors(2), 0);
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
  expect_same_tensors(load_hf_checkpoint(dir).tensors, numbered_tensors(2));
}

TEST(HfCheckpoint, OversizedTensorGetsItsOwnShard) {
  const std::string dir = fresh_dir("hf_oversized");
  const auto tensors = numbered_tensors(3);
  write_hf_checkpoint(dir, kConfig, tensors, 48);  // every 64-byte tensor exceeds the limit
  EXPECT_TRUE(fs::exists(dir + "/model-00003-of-00003.safetensors"));
  expect_same_tensors(load_hf_checkpoint(dir).tensors, tensors);
}

TEST(HfCheckpoint, DirectoryWithoutWeightsIsIoError) {
  const std::string dir = fresh_dir("hf_empty");
  fs::create_directories(dir);
  write_json_file(dir + "/config.json", kConfig);
  EXPECT_THROW(load_hf_checkpoint(dir), IoError);
  EXPECT_EQ(error_of(dir), dir + ": no model.safetensors or model.safetensors.index.json");
}

TEST(HfCheckpoint, ConfigErrorsNameTheFile) {
  const std::string dir = fresh_dir("hf_config");
  fs::create_directories(dir);
  EXPECT_THROW(load_hf_checkpoint(dir), IoError);
  EXPECT_EQ(error_of(dir).rfind(dir + "/config.json: cannot open", 0), 0u);
  testing::write_bytes(dir + "/config.json", {'{', '"', 'a'});
  EXPECT_THROW(load_hf_checkpoint(dir), FormatError);
  EXPECT_EQ(error_of(dir).rfind(dir + "/config.json: not valid JSON", 0), 0u);
}

TEST(HfCheckpoint, IndexErrorsNameFileAndTensor) {
  const std::string dir = fresh_dir("hf_bad_index");
  write_hf_checkpoint(dir, kConfig, numbered_tensors(3), 64);  // one tensor per shard
  const std::string index_path = dir + "/model.safetensors.index.json";
  const nlohmann::json index = read_json_file(index_path);
  const std::string shard1 = dir + "/model-00001-of-00003.safetensors";

  nlohmann::json missing_tensor = index;
  missing_tensor["weight_map"]["lm_head.weight"] = "model-00001-of-00003.safetensors";
  write_json_file(index_path, missing_tensor);
  EXPECT_EQ(error_of(dir),
            shard1 + ": tensor 'lm_head.weight' is listed in " + index_path + " but missing from this shard");

  nlohmann::json missing_shard = index;
  missing_shard["weight_map"]["lm_head.weight"] = "model-00009-of-00003.safetensors";
  write_json_file(index_path, missing_shard);
  EXPECT_EQ(error_of(dir), index_path +
                               ": shard 'model-00009-of-00003.safetensors' of tensor "
                               "'lm_head.weight' does not exist");

  // Shard 1 also holding tensor 1, which the index places in shard 2.
  write_json_file(index_path, index);
  auto both = numbered_tensors(2);
  write_safetensors(shard1, both);
  EXPECT_EQ(error_of(dir), dir +
                               "/model-00002-of-00003.safetensors: tensor "
                               "'model.layers.1.mlp.gate.weight' is also in " +
                               shard1);
}

TEST(HfCheckpoint, WriteRejectsDuplicateNames) {
  const std::string dir = fresh_dir("hf_duplicate");
  auto tensors = numbered_tensors(2);
  tensors.push_back(tensors.front());
  EXPECT_THROW(write_hf_checkpoint(dir, kConfig, tensors, 64), FormatError);
  EXPECT_FALSE(fs::exists(dir + "/config.json"));
}

}  // namespace
}  // namespace moe::io
