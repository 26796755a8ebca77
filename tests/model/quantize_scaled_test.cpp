// int8 / fp8 whole-model quantization (TensorRT-LLM style): which roles are quantized and with
// which scales, logits against the f32 model, the HF checkpoint written and read back with its
// scale tensors and quantization_config, calibration of static input scales against values
// computed by hand from the weights, and the errors of malformed checkpoints.
#include "model/quantize_scaled.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fp8.h"
#include "io/hf_checkpoint.h"
#include "model/presets.h"
#include "model/quant_scales.h"
#include "model/quantize_model.h"
#include "model/shard.h"
#include "model_test_util.h"

namespace moe::model {
namespace {

using testing::prompt_logits;
using testing::relative_difference;
using testing::tmp_path;

float row_amax(const Tensor& w, int64_t row) {
  const std::vector<float> values = w.to_f32();
  float amax = 0.0f;
  for (int64_t c = 0; c < w.cols(); ++c) amax = std::max(amax, std::fabs(values[row * w.cols() + c]));
  return amax;
}

ScaledQuantizeOptions options_for(DType dtype, bool per_channel) {
  ScaledQuantizeOptions options;
  options.dtype = dtype;
  options.per_channel = per_channel;
  return options;
}

// A calibration text's tokens: the fixed pseudo-random ids 1 + (37 i mod 500).
std::vector<int32_t> calibration_tokens(int64_t n) {
  std::vector<int32_t> tokens(n);
  for (int64_t i = 0; i < n; ++i) tokens[i] = static_cast<int32_t>(1 + (37 * i) % 500);
  return tokens;
}

TEST(QuantizeScaled, Int8IsPerChannelAndKeepsRouterNormsEmbeddingAndLmHead) {
  ThreadPool pool(2);
  const Model original = make_preset_model("qwen2moe-tiny", 3, DType::kF32);
  const Model q = quantize_scaled(original, options_for(DType::kI8, true), pool);
  const LayerWeights& l = q.weights.layers[1];
  for (const Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.experts[5].gate, &l.experts[5].up, &l.experts[5].down,
                          &l.shared_expert.gate, &l.shared_expert.up, &l.shared_expert.down}) {
    EXPECT_EQ(t->dtype(), DType::kI8);
    EXPECT_EQ(static_cast<int64_t>(t->scales().weight.size()), t->rows());
    EXPECT_FALSE(t->input_scale().has_value());
  }
  for (const Tensor* t : {&l.router, &l.shared_expert_gate, &l.attn_norm, &l.ffn_norm, &l.bq, &q.weights.token_embd,
                          &q.weights.output, &q.weights.output_norm}) {
    EXPECT_EQ(t->dtype(), DType::kF32);
    EXPECT_FALSE(t->has_scales());
  }
  // scale = amax(row) / 127 of the f32 row; every code within half a step of the value.
  const Tensor& in = original.weights.layers[1].experts[5].down;
  const Tensor& out = l.experts[5].down;
  const std::vector<float> values = in.to_f32(), back = out.to_f32();
  for (int64_t r = 0; r < in.rows(); ++r) {
    const float scale = row_amax(in, r) / 127.0f;
    ASSERT_EQ(out.row_scale(r), scale) << "row " << r;
    for (int64_t c = 0; c < in.cols(); ++c)
      ASSERT_LE(std::fabs(back[r * in.cols() + c] - values[r * in.cols() + c]), 0.5f * scale * 1.0001f);
  }
}

TEST(QuantizeScaled, Fp8PerTensorScaleIsAmaxOver448) {
  ThreadPool pool(2);
  const Model original = make_preset_model("mixtral-tiny", 3, DType::kF32);
  const Model q = quantize_scaled(original, options_for(DType::kF8_E4M3, false), pool);
  const Tensor& in = original.weights.layers[2].wo;
  const Tensor& out = q.weights.layers[2].wo;
  float amax = 0.0f;
  for (int64_t r = 0; r < in.rows(); ++r) amax = std::max(amax, row_amax(in, r));
  ASSERT_EQ(out.dtype(), DType::kF8_E4M3);
  ASSERT_EQ(out.scales().weight, std::vector<float>{amax / 448.0f});
  // Every code is the nearest e4m3 value of w / scale (f32_to_e4m3 is tested exhaustively).
  const std::vector<float> values = in.to_f32();
  for (int64_t i = 0; i < in.numel(); ++i)
    ASSERT_EQ(static_cast<uint8_t>(out.data()[i]), f32_to_e4m3(values[i] / (amax / 448.0f))) << i;
}

// int8 and weight-only fp8 multiply f32 activations: the model computes what its dequantized
// weights compute, up to float summation order.
TEST(QuantizeScaled, WeightOnlyModelsComputeTheirDequantizedWeights) {
  ThreadPool pool(2);
  for (const char* preset : {"mixtral-tiny", "qwen2moe-tiny"}) {
    const Model original = make_preset_model(preset, 3, DType::kF32);
    for (const auto& [dtype, per_channel] : {std::pair{DType::kI8, true}, std::pair{DType::kF8_E4M3, false}}) {
      const Model q = quantize_scaled(original, options_for(dtype, per_channel), pool);
      EXPECT_LT(relative_difference(prompt_logits(q), prompt_logits(testing::widened_to_f32(q))), 1e-5)
          << preset << " " << dtype_info(dtype).name;
    }
  }
}

// Root-mean-square of a - b over that of b.
double rms_relative(const std::vector<float>& a, const std::vector<float>& b) {
  double error = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    error += std::pow(static_cast<double>(a[i]) - b[i], 2);
    norm += std::pow(static_cast<double>(b[i]), 2);
  }
  return std::sqrt(error / norm);
}

// Logits of the 6-token prompt against the f32 model, as an RMS relative error. Random tiny models
// are chaotic (steep attention, top-k flips: even bf16 weights move their logits by ~1%), so the
// routing is made continuous (top-k = all experts) and errors then follow the weights' precision.
// Measured on mixtral-tiny: int8 0.048 (q8_0: 0.039), fp8 per channel 0.133, fp8 per tensor 0.148,
// fp8 W8A8 0.219 (e4m3 keeps 3 mantissa bits); bounds about 1.6x that.
TEST(QuantizeScaled, LogitsStayCloseToF32) {
  ThreadPool pool(2);
  Model original = make_preset_model("mixtral-tiny", 3, DType::kF32);
  for (model::LayerSpec& layer : original.config.layers) layer.ffn.router.top_k = layer.ffn.router.n_experts;
  const std::vector<float> reference = prompt_logits(original);
  ScaledQuantizeOptions w8a8 = options_for(DType::kF8_E4M3, false);
  w8a8.input_ranges = calibrate_input_ranges(original, calibration_tokens(200), 64, pool);
  const struct {
    const char* name;
    ScaledQuantizeOptions options;
    double bound;
  } cases[] = {{"int8", options_for(DType::kI8, true), 0.08},
               {"fp8 channel", options_for(DType::kF8_E4M3, true), 0.22},
               {"fp8", options_for(DType::kF8_E4M3, false), 0.24},
               {"fp8 w8a8", w8a8, 0.35}};
  std::vector<double> errors;
  for (const auto& c : cases) {
    errors.push_back(rms_relative(prompt_logits(quantize_scaled(original, c.options, pool)), reference));
    EXPECT_LT(errors.back(), c.bound) << c.name;
  }
  EXPECT_LT(errors[0], errors[1]);  // int8's 255 levels beat e4m3's 3 mantissa bits
  EXPECT_LT(errors[2], errors[3]);  // quantizing the activations too adds error
}

// Layer 0's q/k/v input is the RMS-normed embedding of each token: its amax, computed here from
// the weights, is what calibration records; the static input scale is that over 448.
TEST(Calibrate, FirstLayerRangeIsTheNormedEmbeddingsAmax) {
  ThreadPool pool(2);
  const Model model = make_preset_model("mixtral-tiny", 3, DType::kF32);
  const std::vector<int32_t> tokens = calibration_tokens(40);
  const std::vector<LayerInputRanges> ranges = calibrate_input_ranges(model, tokens, 16, pool);
  const int64_t hidden = model.config.hidden_size;
  const std::vector<float> embedding = model.weights.token_embd.to_f32();
  const std::vector<float> norm = model.weights.layers[0].attn_norm.to_f32();
  double amax = 0.0;
  for (int32_t token : tokens) {
    double sum_sq = 0.0;
    for (int64_t i = 0; i < hidden; ++i) sum_sq += std::pow(embedding[token * hidden + i], 2);
    const double inverse_rms = 1.0 / std::sqrt(sum_sq / hidden + model.config.rms_eps);
    for (int64_t i = 0; i < hidden; ++i)
      amax = std::max(amax, std::fabs(embedding[token * hidden + i] * inverse_rms * norm[i]));
  }
  EXPECT_NEAR(ranges[0].attention, amax, amax * 1e-6);
  for (const LayerInputRanges& r : ranges)
    for (float range : {r.attention, r.attention_output, r.experts, r.experts_down}) EXPECT_GT(range, 0.0f);
  EXPECT_EQ(ranges[0].shared, 0.0f);  // mixtral has no shared expert

  ScaledQuantizeOptions options = options_for(DType::kF8_E4M3, false);
  options.input_ranges = ranges;
  const Model q = quantize_scaled(model, options, pool);
  const LayerWeights& l = q.weights.layers[0];
  EXPECT_EQ(l.wq.input_scale(), ranges[0].attention / 448.0f);
  EXPECT_EQ(l.wv.input_scale(), ranges[0].attention / 448.0f);
  EXPECT_EQ(l.wo.input_scale(), ranges[0].attention_output / 448.0f);
  for (const ExpertWeights& e : l.experts) {  // one scale per projection, shared by the experts
    EXPECT_EQ(e.gate.input_scale(), ranges[0].experts / 448.0f);
    EXPECT_EQ(e.up.input_scale(), ranges[0].experts / 448.0f);
    EXPECT_EQ(e.down.input_scale(), ranges[0].experts_down / 448.0f);
  }
  EXPECT_FALSE(l.router.input_scale().has_value());
}

TEST(Calibrate, LayerWithoutInputIsAConfigError) {
  ThreadPool pool(2);
  const Model model = make_preset_model("mixtral-tiny", 3, DType::kF32);
  ScaledQuantizeOptions options = options_for(DType::kF8_E4M3, false);
  options.input_ranges = std::vector<LayerInputRanges>(model.config.n_layers());
  options.input_ranges->at(0).attention = 1.0f;
  try {
    quantize_scaled(model, options, pool);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--calib: layer 0 o_proj saw no input (amax 0); use a longer calibration text");
  }
}

// Written as an HF directory and read back: the same codes, scales and input scales, the
// published tensor names and quantization_config, and the same logits.
TEST(QuantizeScaled, HfCheckpointRoundTrips) {
  ThreadPool pool(2);
  const Model original = make_preset_model("mixtral-tiny", 3, DType::kF32);
  ScaledQuantizeOptions fp8 = options_for(DType::kF8_E4M3, false);
  fp8.input_ranges = calibrate_input_ranges(original, calibration_tokens(64), 64, pool);
  for (const auto& [name, options] : {std::pair{"int8", options_for(DType::kI8, true)}, std::pair{"fp8", fp8}}) {
    const Model q = quantize_scaled(original, options, pool);
    const std::string dir = tmp_path(std::string("scaled-") + name);
    std::filesystem::remove_all(dir);
    save_model(q, dir, FileFormat::kHf);
    const Model back = load_model(dir);
    const Tensor& a = q.weights.layers[3].experts[7].down;
    const Tensor& b = back.weights.layers[3].experts[7].down;
    ASSERT_EQ(b.dtype(), a.dtype()) << name;
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.nbytes())) << name;
    EXPECT_EQ(b.scales().weight, a.scales().weight) << name;
    EXPECT_EQ(b.input_scale(), a.input_scale()) << name;
    EXPECT_EQ(prompt_logits(back), prompt_logits(q)) << name;

    const io::HfCheckpoint raw = io::load_hf_checkpoint(dir);
    const std::string module = "model.layers.3.block_sparse_moe.experts.7.w2";
    const Tensor& scale = raw.tensors.at(module + ".weight_scale");
    EXPECT_EQ(scale.dtype(), DType::kF32);
    const nlohmann::json& config = raw.config.at("quantization_config");
    if (std::string(name) == "int8") {
      EXPECT_EQ(raw.tensors.at(module + ".weight").dtype(), DType::kI8);
      EXPECT_EQ(scale.shape(), (std::vector<int64_t>{original.config.hidden_size, 1}));
      EXPECT_EQ(raw.tensors.count(module + ".input_scale"), 0u);
      EXPECT_EQ(config.at("quant_method"), "compressed-tensors");
      EXPECT_EQ(config.at("format"), "int-quantized");
      EXPECT_EQ(config.at("config_groups").at("group_0").at("weights").at("strategy"), "channel");
      EXPECT_TRUE(config.at("config_groups").at("group_0").at("input_activations").is_null());
      EXPECT_EQ(config.at("ignore").at(0), "lm_head");
    } else {
      EXPECT_EQ(raw.tensors.at(module + ".weight").dtype(), DType::kF8_E4M3);
      EXPECT_TRUE(scale.shape().empty());
      EXPECT_TRUE(raw.tensors.at(module + ".input_scale").shape().empty());
      EXPECT_EQ(config.at("quant_method"), "fp8");
      EXPECT_EQ(config.at("activation_scheme"), "static");
      EXPECT_EQ(config.at("ignored_layers").at(1), "model.layers.0.block_sparse_moe.gate");
    }
    EXPECT_THROW(save_model(q, dir + ".gguf", FileFormat::kGguf), FormatError);
  }
}

// Under moe_tp the gate/up rows and the down columns are split: each slice keeps its rows' scales.
TEST(QuantizeScaled, ShardSlicesKeepTheirScales) {
  ThreadPool pool(2);
  const Model q =
      quantize_scaled(make_preset_model("mixtral-tiny", 3, DType::kF32), options_for(DType::kI8, true), pool);
  ShardLayout layout;
  layout.moe_tp = 2;
  layout.moe_tp_rank = 1;
  const ModelWeights shard = shard_weights(q.config, q.weights, make_shard(q.config, layout));
  const ExpertWeights& full = q.weights.layers[0].experts[2];
  const ExpertWeights& part = shard.layers[0].experts[2];
  const std::vector<float> gate = full.gate.scales().weight;
  const int64_t half = q.config.moe().expert_ffn / 2;
  EXPECT_EQ(part.gate.scales().weight, std::vector<float>(gate.begin() + half, gate.end()));
  EXPECT_EQ(part.down.scales().weight, full.down.scales().weight);
  EXPECT_EQ(part.down.cols(), half);
}

// A llama-arch GGUF stores q/k rows interleaved: quantize_scaled writes them in HF order, so the
// f32 model quantizes to the same codes and scales from either file.
TEST(QuantizeScaled, GgufInputGivesTheHfOrderCheckpoint) {
  ThreadPool pool(2);
  const Model original = make_preset_model("mixtral-tiny", 3, DType::kF32);
  const std::string path = tmp_path("scaled-source.gguf");
  save_model(original, path, FileFormat::kGguf);
  const Model from_gguf = quantize_scaled(load_model(path), options_for(DType::kI8, true), pool);
  const Model from_hf = quantize_scaled(original, options_for(DType::kI8, true), pool);
  EXPECT_EQ(from_gguf.config.rope_style, kernels::RopeStyle::kNeox);
  for (const auto& [a, b] : {std::pair{&from_gguf.weights.layers[1].wq, &from_hf.weights.layers[1].wq},
                             std::pair{&from_gguf.weights.layers[1].wk, &from_hf.weights.layers[1].wk}}) {
    EXPECT_EQ(0, std::memcmp(a->data(), b->data(), a->nbytes()));
    EXPECT_EQ(a->scales().weight, b->scales().weight);
  }
  EXPECT_EQ(prompt_logits(from_gguf), prompt_logits(from_hf));
}

// An int8 checkpoint requantized to a GGUF type quantizes its values (codes times scales).
TEST(QuantizeScaled, Int8ModelRequantizesToGgufTypesWithItsScales) {
  ThreadPool pool(2);
  const Model q =
      quantize_scaled(make_preset_model("mixtral-tiny", 3, DType::kF32), options_for(DType::kI8, true), pool);
  QuantizeTargets targets;
  targets.matrices = DType::kF16;
  const Model f16 = quantize_model(q, targets, pool).model;
  const std::vector<float> before = q.weights.layers[0].wo.to_f32(), after = f16.weights.layers[0].wo.to_f32();
  for (size_t i = 0; i < before.size(); ++i) ASSERT_NEAR(after[i], before[i], std::fabs(before[i]) * 0x1p-11) << i;
}

std::string load_error(const std::string& dir) {
  try {
    load_model(dir);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}

TEST(QuantizeScaled, MalformedCheckpointsNameTheProblem) {
  ThreadPool pool(2);
  const Model original = make_preset_model("mixtral-tiny", 3, DType::kF32);
  const Model q = quantize_scaled(original, options_for(DType::kI8, true), pool);
  const NamedTensors tensors = with_scale_tensors(weights_to_hf(q.config, q.weights));
  const std::string scale_name = "model.layers.0.self_attn.q_proj.weight_scale";
  auto write = [&](const std::string& name, const NamedTensors& named, const nlohmann::json& config) {
    const std::string dir = tmp_path(name);
    std::filesystem::remove_all(dir);
    save_model(original, dir, FileFormat::kHf);  // tokenizer files
    io::write_hf_checkpoint(dir, config, named);
    return dir;
  };
  const nlohmann::json config = config_to_hf(q.config);

  NamedTensors missing;
  for (const auto& entry : tensors)
    if (entry.first != scale_name) missing.push_back(entry);
  std::string dir = write("scaled-missing", missing, config);
  EXPECT_EQ(load_error(dir), dir +
                                 ": tensor 'model.layers.0.self_attn.q_proj.weight' is i8 but has no "
                                 "'model.layers.0.self_attn.q_proj.weight_scale'");

  NamedTensors orphan = tensors;
  orphan.emplace_back("model.layers.0.nowhere.weight_scale", Tensor::from_f32({}, {1.0f}));
  dir = write("scaled-orphan", orphan, config);
  EXPECT_EQ(load_error(dir), dir +
                                 ": tensor 'model.layers.0.nowhere.weight_scale' has no weight "
                                 "'model.layers.0.nowhere.weight'");

  NamedTensors wrong_size = tensors;
  for (auto& [name, tensor] : wrong_size)
    if (name == scale_name) tensor = Tensor::from_f32({3}, {1.0f, 2.0f, 3.0f});
  dir = write("scaled-size", wrong_size, config);
  EXPECT_EQ(load_error(dir), dir + ": tensor '" + scale_name +
                                 "' has shape [3] for a weight of 256 rows "
                                 "(expected 256 or 1 values)");

  NamedTensors negative = tensors;
  for (auto& [name, tensor] : negative)
    if (name == scale_name) tensor = Tensor::from_f32({256, 1}, std::vector<float>(256, -1.0f));
  dir = write("scaled-negative", negative, config);
  EXPECT_EQ(load_error(dir), dir + ": tensor '" + scale_name + "' holds -1 (expected a finite scale > 0)");

  nlohmann::json gptq = config;
  gptq["quantization_config"] = {{"quant_method", "gptq"}};
  dir = write("scaled-gptq", tensors, gptq);
  EXPECT_EQ(load_error(dir), dir +
                                 "/config.json: quantization_config.quant_method 'gptq' is not supported "
                                 "(expected fp8 or compressed-tensors; GGUF holds the llama.cpp types)");
}

}  // namespace
}  // namespace moe::model
