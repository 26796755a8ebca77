// Whole models through the file formats: sharded HF checkpoints, f16/bf16 weights, GGUF round trips
// (bit-identical logits), the same seed giving the same weights, and a training save directory
// standing for its latest checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/hf_checkpoint.h"
#include "model/presets.h"
#include "model/transformer.h"
#include "model_test_util.h"

namespace moe::model {
namespace {

using testing::prompt_logits;
using testing::tmp_path;

TEST(ModelIo, ShardedCheckpointGivesTheSameLogits) {
  const Model made = make_preset_model("olmoe-tiny", 11, DType::kF32);
  const std::string single = tmp_path("olmoe-single"), sharded = tmp_path("olmoe-sharded");
  save_model(made, single, FileFormat::kHf);
  io::write_hf_checkpoint(sharded, config_to_hf(made.config), weights_to_hf(made.config, made.weights),
                          4 << 20);  // 4 MiB shards
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(single + "/" + file, sharded + "/" + file,
                               std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(std::filesystem::exists(sharded + "/model.safetensors.index.json"));
  EXPECT_EQ(prompt_logits(load_model(single)), prompt_logits(load_model(sharded)));
}

class HalfPrecision : public ::testing::TestWithParam<DType> {};

TEST_P(HalfPrecision, HfToGgufToHfIsLosslessAndLogitsMatch) {
  const DType dtype = GetParam();
  const std::string name = std::string("mixtral-") + dtype_info(dtype).name;
  const std::string dir = tmp_path(name), gguf = tmp_path(name + ".gguf"), back = tmp_path(name + "-back");
  save_model(make_preset_model("mixtral-tiny", 2, dtype), dir, FileFormat::kHf);
  const Model hf = load_model(dir);
  EXPECT_EQ(hf.weights.layers[0].experts[3].down.dtype(), dtype);
  save_model(hf, gguf, FileFormat::kGguf);
  const Model from_gguf = load_model(gguf);
  save_model(from_gguf, back, FileFormat::kHf);
  const Model again = load_model(back);
  const auto original = weights_to_hf(hf.config, hf.weights), round_trip = weights_to_hf(again.config, again.weights);
  ASSERT_EQ(original.size(), round_trip.size());
  for (size_t i = 0; i < original.size(); ++i) {
    ASSERT_EQ(original[i].first, round_trip[i].first);
    ASSERT_EQ(original[i].second.nbytes(), round_trip[i].second.nbytes());
    EXPECT_EQ(0, std::memcmp(original[i].second.data(), round_trip[i].second.data(), original[i].second.nbytes()))
        << original[i].first;
  }
  // The llama-arch GGUF stores q/k interleaved and uses interleaved RoPE: the same model up to the
  // order of the q.k sums, so within float rounding of the logits (std ~10).
  const std::vector<float> a = prompt_logits(hf), b = prompt_logits(from_gguf);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-3) << i;
}

INSTANTIATE_TEST_SUITE_P(Dtypes, HalfPrecision, ::testing::Values(DType::kF16, DType::kBF16),
                         [](const auto& info) { return std::string(dtype_info(info.param).name); });

// The model with its weights dequantized to f32.
Model dequantized(const Model& model) {
  Model copy = model;
  auto widen = [](Tensor& t) { t = Tensor::from_f32(t.shape(), t.to_f32()); };
  widen(copy.weights.token_embd);
  widen(copy.weights.output);
  for (LayerWeights& l : copy.weights.layers) {
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.router}) widen(*t);
    for (ExpertWeights& e : l.experts)
      for (Tensor* t : {&e.gate, &e.up, &e.down}) widen(*t);
  }
  return copy;
}

double relative_error(const std::vector<float>& logits, const std::vector<float>& reference) {
  double error = 0, scale = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    error = std::max(error, static_cast<double>(std::fabs(logits[i] - reference[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(reference[i])));
  }
  return error / scale;
}

// A quantized GGUF computes with its own weights: against the same model dequantized to f32,
// q4_K/q5_K/q6_K (f32 activations) differ only by the order of float sums; q8_0/q4_0 quantize the
// activations to q8_0 blocks as llama.cpp does (<= ~0.5 % per dot product), which four layers of a
// random model with near-tie routing amplify to a few percent. A wrong or misplaced weight moves
// the logits by their whole scale (checked against another seed's model).
TEST(ModelIo, QuantizedGgufComputesItsDequantizedWeights) {
  const std::vector<float> other = prompt_logits(make_preset_model("qwen3moe-tiny", 5, DType::kF32));
  for (const auto& [dtype, tolerance] :
       {std::pair{DType::kQ4_K, 1e-5}, std::pair{DType::kQ5_K, 1e-5}, std::pair{DType::kQ6_K, 1e-5},
        std::pair{DType::kQ8_0, 0.1}, std::pair{DType::kQ4_0, 0.15}}) {
    const std::string path = tmp_path(std::string("qwen3-") + dtype_info(dtype).name + ".gguf");
    save_model(make_preset_model("qwen3moe-tiny", 4, dtype), path, FileFormat::kGguf);
    const Model quantized = load_model(path);
    EXPECT_EQ(quantized.weights.layers[1].experts[0].gate.dtype(), dtype);
    EXPECT_EQ(quantized.weights.layers[1].wq.dtype(), dtype);
    const std::vector<float> logits = prompt_logits(quantized), reference = prompt_logits(dequantized(quantized));
    EXPECT_LT(relative_error(logits, reference), tolerance) << dtype_info(dtype).name;
    EXPECT_GT(relative_error(other, reference), 0.5) << "the bound would not catch wrong weights";
  }
}

// The message of the exception `load` throws, or "" when it throws none.
template <typename E, typename F>
std::string error_of(F load) {
  try {
    load();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

TEST(ModelIo, SaveDirectoryLoadsItsLatestCheckpoint) {
  const std::string save = tmp_path("save");
  std::filesystem::remove_all(save);
  std::filesystem::create_directories(save);
  EXPECT_EQ(error_of<IoError>([&] { load_model(save); }),
            save + ": holds no model (no config.json) and no checkpoint ('latest' missing)");
  std::ofstream(save + "/latest") << "iter_0000002\n";
  EXPECT_EQ(error_of<FormatError>([&] { load_model(save); }),
            save + "/latest: names 'iter_0000002', which is not a checkpoint");
  save_model(make_preset_model("mixtral-tiny", 3, DType::kF32), save + "/iter_0000002", FileFormat::kHf);
  std::ofstream(save + "/iter_0000002/train_state.json") << "{}";
  EXPECT_EQ(model_path(save), save + "/iter_0000002");
  const Model loaded = load_model(save);
  EXPECT_EQ(loaded.path, save + "/iter_0000002");
  EXPECT_EQ(prompt_logits(loaded), prompt_logits(load_model(save + "/iter_0000002")));
}

}  // namespace
}  // namespace moe::model
