// Whole-model requantization: each target written to GGUF and read back with the dtype each role
// should have and the reference encoding of every row, computing what its own weights dequantized
// to f32 compute (kernels with f32 activations); the row-length fallback; copies of tensors already
// in their target dtype; quantizer idempotence; thread-count independence.
#include "model/quantize_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/quantize.h"
#include "core/random.h"
#include "io/gguf.h"
#include "kernels/matmul/matmul_kernels.h"
#include "model/presets.h"
#include "model/transformer.h"
#include "model_test_util.h"

namespace moe::model {
namespace {

using testing::prompt_logits;
using testing::tmp_path;

// Largest logit difference relative to the largest logit.
double relative_logit_error(const Model& model) {
  return testing::relative_difference(prompt_logits(model), prompt_logits(testing::widened_to_f32(model)));
}

QuantizeTargets only_matrices(DType dtype) {
  QuantizeTargets targets;
  targets.matrices = dtype;
  return targets;
}

// Every row of `out` is the reference encoding of the same row of `original` in out's dtype.
void expect_encodes(const Tensor& original, const Tensor& out, const std::string& name) {
  ASSERT_EQ(original.shape(), out.shape()) << name;
  const int64_t cols = original.cols();
  std::vector<float> values(cols);
  std::vector<std::byte> expected(out.row_bytes());
  for (int64_t row = 0; row < original.rows(); ++row) {
    dequantize_row(original.dtype(), original.row(row), values.data(), cols);
    quantize_row(out.dtype(), values.data(), expected.data(), cols);
    ASSERT_EQ(0, std::memcmp(expected.data(), out.row(row), expected.size())) << name << " row " << row;
  }
}

int64_t llama_file_type(DType target) {
  switch (target) {
    case DType::kQ8_0:
      return 7;
    case DType::kQ4_0:
      return 2;
    case DType::kQ4_K:
      return 15;
    case DType::kQ5_K:
      return 17;
    case DType::kQ6_K:
      return 18;
    case DType::kF16:
      return 1;
    case DType::kBF16:
      return 32;
    default:
      return 0;
  }
}

TEST(QuantizeModel, RowLengthFallback) {
  EXPECT_EQ(dtype_for_row_length(DType::kQ4_K, 256), DType::kQ4_K);
  EXPECT_EQ(dtype_for_row_length(DType::kQ6_K, 2816), DType::kQ6_K);
  EXPECT_EQ(dtype_for_row_length(DType::kQ4_K, 160), DType::kQ8_0);
  EXPECT_EQ(dtype_for_row_length(DType::kQ6_K, 96), DType::kQ8_0);
  EXPECT_EQ(dtype_for_row_length(DType::kQ4_K, 100), DType::kF16);
  EXPECT_EQ(dtype_for_row_length(DType::kQ8_0, 48), DType::kF16);
  EXPECT_EQ(dtype_for_row_length(DType::kQ4_0, 64), DType::kQ4_0);
  EXPECT_EQ(dtype_for_row_length(DType::kBF16, 7), DType::kBF16);
  EXPECT_EQ(dtype_for_row_length(DType::kF32, 7), DType::kF32);
}

TEST(QuantizeModel, OutputDefaultsFollowLlamaQuantize) {
  EXPECT_EQ(default_output_dtype(DType::kQ4_0), DType::kQ6_K);
  EXPECT_EQ(default_output_dtype(DType::kQ4_K), DType::kQ6_K);
  EXPECT_EQ(default_output_dtype(DType::kQ8_0), DType::kQ8_0);
  EXPECT_EQ(default_output_dtype(DType::kQ6_K), DType::kQ6_K);
  EXPECT_EQ(default_output_dtype(DType::kF16), DType::kF16);
  EXPECT_EQ(default_output_dtype(DType::kBF16), DType::kBF16);
}

struct Case {
  const char* preset;
  DType target;
};

class QuantizeTo : public ::testing::TestWithParam<Case> {};

TEST_P(QuantizeTo, GgufHasEachRoleDtypeAndComputesItsDequantizedWeights) {
  const auto [preset, target] = GetParam();
  const std::string path = tmp_path(std::string(preset) + "-" + dtype_info(target).name + ".gguf");
  ThreadPool pool(2);
  const Model original = make_preset_model(preset, 3, DType::kF32);
  const QuantizeResult result = quantize_model(original, only_matrices(target), pool);
  save_model(result.model, path, FileFormat::kGguf);

  const Model m = load_model(path);
  const DType output = target == DType::kQ4_0 || target == DType::kQ4_K ? DType::kQ6_K : target;
  EXPECT_EQ(m.weights.token_embd.dtype(), target);
  EXPECT_EQ(m.weights.output.dtype(), output);
  EXPECT_EQ(m.weights.output_norm.dtype(), DType::kF32);
  for (const LayerWeights& l : m.weights.layers) {
    for (const Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo}) EXPECT_EQ(t->dtype(), target);
    for (const ExpertWeights& e : l.experts)
      for (const Tensor* t : {&e.gate, &e.up, &e.down}) EXPECT_EQ(t->dtype(), target);
    for (const Tensor* t : {&l.attn_norm, &l.ffn_norm, &l.router}) EXPECT_EQ(t->dtype(), DType::kF32);
    if (m.config.moe().shared_expert_ffn > 0) {
      for (const Tensor* t : {&l.shared_expert.gate, &l.shared_expert.up, &l.shared_expert.down})
        EXPECT_EQ(t->dtype(), target);
      EXPECT_EQ(l.shared_expert_gate.dtype(), DType::kF32);
    }
    if (m.config.attention().qkv_bias) {
      for (const Tensor* t : {&l.bq, &l.bk, &l.bv}) EXPECT_EQ(t->dtype(), DType::kF32);
    }
  }
  // The report lists every tensor of the file, none fell back (all rows are multiples of 256).
  const io::GgufFile file = io::GgufFile::open(path);
  EXPECT_EQ(file.metadata().get_int("general.file_type"), llama_file_type(target));
  EXPECT_EQ(result.tensors.size(), file.tensors().size());
  for (const QuantizedTensor& t : result.tensors) {
    EXPECT_FALSE(t.fell_back()) << t.name;
    ASSERT_TRUE(file.tensors().count(t.name)) << t.name;
    EXPECT_EQ(file.tensors().at(t.name).dtype(), t.to) << t.name;
  }
  // Each tensor holds the reference encoding of the original values, and the file holds those bytes.
  const NamedTensors before = weights_to_gguf(original.config, original.weights);
  const NamedTensors after = weights_to_gguf(result.model.config, result.model.weights);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    expect_encodes(before[i].second, after[i].second, after[i].first);
    const Tensor& written = file.tensors().at(after[i].first);
    ASSERT_EQ(written.nbytes(), after[i].second.nbytes()) << after[i].first;
    EXPECT_EQ(0, std::memcmp(written.data(), after[i].second.data(), written.nbytes())) << after[i].first;
  }
  // Where the kernels keep activations in f32 the model computes exactly its dequantized weights,
  // up to the order of float sums (logit std ~10). q8_0/q4_0 kernels quantize the activations to
  // q8_0 blocks, which moves hidden states enough to flip near-tie routing decisions of these
  // random models: no logit bound holds there, and the exact byte checks above are the test.
  if (!kernels::uses_quantized_activations(target)) {
    EXPECT_LT(relative_logit_error(m), 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, QuantizeTo,
                         ::testing::Values(Case{"mixtral-tiny", DType::kQ8_0}, Case{"mixtral-tiny", DType::kQ4_0},
                                           Case{"mixtral-tiny", DType::kQ4_K}, Case{"mixtral-tiny", DType::kQ6_K},
                                           Case{"mixtral-tiny", DType::kQ5_K}, Case{"mixtral-tiny", DType::kF16},
                                           Case{"mixtral-tiny", DType::kBF16}, Case{"qwen2moe-tiny", DType::kQ8_0},
                                           Case{"qwen2moe-tiny", DType::kQ4_0}, Case{"qwen2moe-tiny", DType::kQ4_K},
                                           Case{"qwen2moe-tiny", DType::kQ6_K}, Case{"qwen2moe-tiny", DType::kF16},
                                           Case{"qwen2moe-tiny", DType::kBF16}),
                         [](const auto& info) {
                           std::string name = std::string(info.param.preset) + "_" + dtype_info(info.param.target).name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(QuantizeModel, OverridesForEmbeddingAndOutput) {
  ThreadPool pool(2);
  const QuantizeResult result =
      quantize_model(make_preset_model("qwen3moe-tiny", 2, DType::kF32),
                     {.matrices = DType::kQ4_0, .embedding = DType::kF16, .output = DType::kQ8_0}, pool);
  EXPECT_EQ(result.model.weights.token_embd.dtype(), DType::kF16);
  EXPECT_EQ(result.model.weights.output.dtype(), DType::kQ8_0);
  EXPECT_EQ(result.model.weights.layers[2].experts[5].up.dtype(), DType::kQ4_0);
  EXPECT_EQ(result.model.weights.layers[2].q_norm.dtype(), DType::kF32);
}

// A quantized input: the router and shared-expert gate (q8_0 in a q8_0 preset) go back to f32.
TEST(QuantizeModel, RouterAndSharedGateBecomeF32) {
  ThreadPool pool(2);
  const Model in = make_preset_model("qwen2moe-tiny", 5, DType::kQ8_0);
  ASSERT_EQ(in.weights.layers[0].router.dtype(), DType::kQ8_0);
  const QuantizeResult result = quantize_model(in, only_matrices(DType::kQ4_0), pool);
  for (const LayerWeights& l : result.model.weights.layers) {
    EXPECT_EQ(l.router.dtype(), DType::kF32);
    EXPECT_EQ(l.shared_expert_gate.dtype(), DType::kF32);
    EXPECT_EQ(l.experts[7].down.dtype(), DType::kQ4_0);
    EXPECT_EQ(l.shared_expert.down.dtype(), DType::kQ4_0);
  }
  // The router's values are exactly its q8_0 values, widened.
  EXPECT_EQ(result.model.weights.layers[1].router.to_f32(), in.weights.layers[1].router.to_f32());
}

// Experts whose down projection has rows of 160 (not a multiple of 256): q4_K falls back to q8_0
// for ffn_down_exps only (the reference q8_0 encoding), and the GGUF loads and runs.
TEST(QuantizeModel, OddRowLengthFallsBackToQ8_0) {
  Model in = make_preset_model("mixtral-tiny", 7, DType::kF32);
  const int64_t ffn = 160, hidden = in.config.hidden_size;
  for (model::LayerSpec& layer : in.config.layers) layer.ffn.expert_ffn = ffn;
  in.config.validate();
  for (LayerWeights& l : in.weights.layers)
    for (ExpertWeights& e : l.experts) {
      e.gate = e.gate.slice_rows(0, ffn);
      e.up = e.up.slice_rows(0, ffn);
      std::vector<float> down(hidden * ffn);
      for (int64_t row = 0; row < hidden; ++row)
        std::memcpy(down.data() + row * ffn, e.down.f32() + row * e.down.cols(), ffn * sizeof(float));
      e.down = Tensor::from_f32({hidden, ffn}, std::move(down));
    }
  ThreadPool pool(2);
  const QuantizeResult result = quantize_model(in, only_matrices(DType::kQ4_K), pool);
  for (size_t layer = 0; layer < in.weights.layers.size(); ++layer)
    for (int64_t e : {0, 7})
      expect_encodes(in.weights.layers[layer].experts[e].down, result.model.weights.layers[layer].experts[e].down,
                     "down " + std::to_string(layer) + "." + std::to_string(e));
  int fallbacks = 0;
  for (const QuantizedTensor& t : result.tensors) {
    if (!t.fell_back()) continue;
    ++fallbacks;
    EXPECT_NE(t.name.find("ffn_down_exps"), std::string::npos) << t.name;
    EXPECT_EQ(t.wanted, DType::kQ4_K);
    EXPECT_EQ(t.to, DType::kQ8_0);
  }
  EXPECT_EQ(fallbacks, in.config.n_layers());

  const std::string path = tmp_path("mixtral-ffn160-q4_K.gguf");
  save_model(result.model, path, FileFormat::kGguf);
  const Model m = load_model(path);
  EXPECT_EQ(m.config.moe().expert_ffn, ffn);
  EXPECT_EQ(m.weights.layers[3].experts[2].gate.dtype(), DType::kQ4_K);
  EXPECT_EQ(m.weights.layers[3].experts[2].down.dtype(), DType::kQ8_0);
  EXPECT_EQ(io::GgufFile::open(path).metadata().get_int("general.file_type"), 15);
  const std::vector<float> logits = prompt_logits(m);
  EXPECT_TRUE(std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); }));
}

// A tensor already in its target dtype is copied, so requantizing a q8_0 file to q8_0 rewrites
// the same bytes.
TEST(QuantizeModel, SameDtypeIsCopiedByteForByte) {
  ThreadPool pool(2);
  const QuantizeResult first =
      quantize_model(make_preset_model("olmoe-tiny", 9, DType::kF32), only_matrices(DType::kQ8_0), pool);
  const QuantizeResult second = quantize_model(first.model, only_matrices(DType::kQ8_0), pool);
  const auto a = weights_to_gguf(first.model.config, first.model.weights);
  const auto b = weights_to_gguf(second.model.config, second.model.weights);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].second.dtype(), b[i].second.dtype()) << a[i].first;
    ASSERT_EQ(a[i].second.nbytes(), b[i].second.nbytes()) << a[i].first;
    EXPECT_EQ(0, std::memcmp(a[i].second.data(), b[i].second.data(), a[i].second.nbytes())) << a[i].first;
  }
}

// Whether the reference quantizers are idempotent: dequantize a quantized row and quantize it
// again. q8_0 and q4_0 are (the block's largest weight maps back onto the same fp16 scale, and
// every other weight onto its own integer); the k-quants' scale searches are not (q6_K almost never,
// q4_K in some rows with outliers), which is why a tensor already in its target dtype is
// copied rather than re-encoded.
TEST(QuantizeModel, ReferenceRequantizationIdempotence) {
  const int64_t n = 4096;
  for (DType dtype : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K}) {
    int identical = 0, rows = 0;
    for (uint64_t seed = 1; seed <= 10; ++seed)
      for (double scale : {1e-3, 0.1, 30.0}) {
        std::vector<float> values(n);
        Rng rng(seed);
        for (float& v : values) {  // heavy-tailed: about 7% of the weights ten times larger
          const double outlier = rng.normal() > 1.5 ? 10 : 1;
          v = static_cast<float>(scale * outlier * rng.normal());
        }
        std::vector<std::byte> once(row_bytes(dtype, n)), twice(once.size());
        std::vector<float> decoded(n);
        quantize_row(dtype, values.data(), once.data(), n);
        dequantize_row(dtype, once.data(), decoded.data(), n);
        quantize_row(dtype, decoded.data(), twice.data(), n);
        identical += std::memcmp(once.data(), twice.data(), once.size()) == 0;
        ++rows;
      }
    if (dtype == DType::kQ8_0 || dtype == DType::kQ4_0)
      EXPECT_EQ(identical, rows) << dtype_info(dtype).name;
    else
      EXPECT_LT(identical, rows) << dtype_info(dtype).name;
  }
}

TEST(QuantizeModel, ThreadCountDoesNotChangeBytes) {
  const Model in = make_preset_model("qwen3moe-tiny", 1, DType::kF32);
  ThreadPool one(1), three(3);
  const QuantizeResult a = quantize_model(in, only_matrices(DType::kQ4_0), one);
  const QuantizeResult b = quantize_model(in, only_matrices(DType::kQ4_0), three);
  const auto ta = weights_to_gguf(a.model.config, a.model.weights),
             tb = weights_to_gguf(b.model.config, b.model.weights);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i)
    EXPECT_EQ(0, std::memcmp(ta[i].second.data(), tb[i].second.data(), ta[i].second.nbytes())) << ta[i].first;
}

// Tied embeddings: output.weight is the embedding, so it takes the embedding's dtype.
TEST(QuantizeModel, TiedOutputFollowsTheEmbedding) {
  Model in = make_preset_model("olmoe-tiny", 4, DType::kF32);
  in.config.tie_embeddings = true;
  in.weights.output = in.weights.token_embd;
  ThreadPool pool(2);
  const QuantizeResult result = quantize_model(in, only_matrices(DType::kQ4_0), pool);
  EXPECT_EQ(result.model.weights.output.dtype(), DType::kQ4_0);
  EXPECT_EQ(result.model.weights.output.data(), result.model.weights.token_embd.data());
  for (const QuantizedTensor& t : result.tensors) EXPECT_NE(t.name, "output.weight");
}

}  // namespace
}  // namespace moe::model
