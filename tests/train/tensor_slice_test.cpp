// Tensor-parallel blocks: the index arithmetic of TensorSlice (cut, join, parse) and a ParamStore
// holding a TP block of each split matrix: the block of the same initialisation and of the same
// loaded tensors as the whole store, the other parameters whole.
#include "train/tensor_slice.h"

#include <gtest/gtest.h>

#include "core/random.h"

#include <numeric>

#include "core/error.h"
#include "model/presets.h"
#include "train/param_store.h"

namespace moe::train {
namespace {

std::vector<float> iota(int64_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}

TEST(TensorSlice, CutsRowAndColumnBlocks) {
  const std::vector<float> full = iota(12);  // [3][4]
  TensorSlice cols{TensorSlice::Split::kCols, 1, 2, {3, 4}};
  EXPECT_EQ(cols.local_shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(cols.cut(full), (std::vector<float>{2, 3, 6, 7, 10, 11}));
  TensorSlice rows{TensorSlice::Split::kRows, 1, 3, {3, 4}};
  EXPECT_EQ(rows.local_shape(), (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(rows.cut(full), (std::vector<float>{4, 5, 6, 7}));
  EXPECT_EQ(rows.full_index(2), 6);
  EXPECT_EQ(cols.full_index(5), 11);
}

TEST(TensorSlice, JoinInvertsTheCutsOfEveryBlock) {
  const std::vector<float> full = iota(24);  // [4][6]
  for (TensorSlice::Split split : {TensorSlice::Split::kRows, TensorSlice::Split::kCols}) {
    TensorSlice slice{split, 0, 2, {4, 6}};
    std::vector<float> blocks;
    for (slice.index = 0; slice.index < 2; ++slice.index) {
      const std::vector<float> block = slice.cut(full);
      blocks.insert(blocks.end(), block.begin(), block.end());
    }
    EXPECT_EQ(slice.join(blocks), full);
  }
}

TEST(TensorSlice, DescribeAndParseRoundTrip) {
  const TensorSlice slice{TensorSlice::Split::kCols, 1, 4, {8, 16}};
  EXPECT_EQ(slice.describe(), "cols 1/4");
  const TensorSlice back = TensorSlice::parse(slice.describe(), {8, 16}, "test");
  EXPECT_EQ(back.split, slice.split);
  EXPECT_EQ(back.index, 1);
  EXPECT_EQ(back.count, 4);
  EXPECT_TRUE(TensorSlice::parse("", {8, 16}, "test").whole());
  EXPECT_THROW(TensorSlice::parse("cols 4/4", {8, 16}, "test"), FormatError);
  EXPECT_THROW(TensorSlice::parse("rows 0/3", {8, 16}, "test"), FormatError);  // 3 does not divide 8
  EXPECT_THROW(TensorSlice::parse("diagonal 0/2", {8, 16}, "test"), FormatError);
}

model::ModelConfig qwen_config() {
  model::ModelConfig config = model::preset_config("qwen2moe-tiny");
  config.rope_style = kernels::RopeStyle::kNeox;
  return config;
}

TEST(ParamStoreTensorParallel, HoldsTheBlocksOfTheWholeStore) {
  const model::ModelConfig config = qwen_config();
  ParamStore whole(config);
  whole.init_random(11, 0.02);
  const model::NamedTensors full = whole.named_tensors();
  for (int rank = 0; rank < 2; ++rank) {
    ParamStore initialised(config, {.tp_rank = rank, .tp_size = 2});
    initialised.init_random(11, 0.02);
    ParamStore loaded(config, {.tp_rank = rank, .tp_size = 2});
    loaded.load(full, "whole store");
    const model::NamedTensors a = initialised.named_tensors(), b = loaded.named_tensors();
    ASSERT_EQ(a.size(), full.size());
    int split = 0;
    for (size_t i = 0; i < full.size(); ++i) {
      const auto& [name, tensor] = full[i];
      const TensorSlice slice = initialised.slice(name);
      EXPECT_EQ(a[i].second.to_f32(), slice.cut(tensor.to_f32())) << name;
      EXPECT_EQ(b[i].second.to_f32(), a[i].second.to_f32()) << name;
      if (slice.whole()) continue;
      ++split;
      const bool row_parallel = name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
      EXPECT_EQ(slice.split, row_parallel ? TensorSlice::Split::kCols : TensorSlice::Split::kRows) << name;
    }
    // Per layer: q, k, v and their biases, o; the shared expert's gate, up and down.
    EXPECT_EQ(split, config.n_layers() * 10);
  }
}

// init_random on a pool (chunks of 65536 values, each starting its stream with Rng::skip) gives
// the values of one stream drawn in order.
TEST(ParamStoreInit, PoolGivesTheValuesOfOneStream) {
  model::ModelConfig config = qwen_config();
  config.vocab_size = 70000;  // an embedding of several chunks
  ParamStore alone(config), pooled(config);
  alone.init_random(5, 0.5);
  ThreadPool pool(3);
  pooled.init_random(5, 0.5, &pool);
  const model::NamedTensors a = alone.named_tensors(), b = pooled.named_tensors();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].second.to_f32(), b[i].second.to_f32()) << a[i].first;
  Rng rng(derive_seed(5, "model.embed_tokens.weight"));
  const std::vector<float> embedding = b[0].second.to_f32();
  ASSERT_EQ(b[0].first, "model.embed_tokens.weight");
  for (size_t i = 0; i < embedding.size(); ++i) {
    const float want = static_cast<float>(0.5 * rng.normal());
    if (i % 1000 == 0 || i > 65530) ASSERT_EQ(embedding[i], want) << i;
  }
}

TEST(ParamStoreTensorParallel, RefusesSplitsThatDoNotDivide) {
  model::ModelConfig config = qwen_config();
  EXPECT_THROW(ParamStore(config, {.tp_rank = 0, .tp_size = 3}), ConfigError);
  for (model::LayerSpec& layer : config.layers) {
    layer.attention.qk_norm = model::QkNorm::kWhole;
    layer.attention.qkv_bias = false;
  }
  EXPECT_THROW(ParamStore(config, {.tp_rank = 0, .tp_size = 2}), ConfigError);
}

}  // namespace
}  // namespace moe::train
