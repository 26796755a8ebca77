// Forward values and gradients of each training block against PyTorch autograd in float64
// (tests/golden/train_blocks.json; command and seed inside). Inputs are float32 values, so the
// only differences are float32 rounding: 1e-5 of each array's scale is ~50x what they show.
#include <gtest/gtest.h>

#include "core/error.h"
#include "train/attention.h"
#include "train/cross_entropy.h"
#include "train/embedding.h"
#include "train/linear.h"
#include "train/rmsnorm.h"
#include "train/swiglu.h"
#include "train_golden.h"

namespace moe::train {
namespace {

using testing::expect_close;
using testing::floats;
using testing::load_golden;

constexpr double kTolerance = 1e-5;

const nlohmann::json& block(const std::string& name) {
  static const nlohmann::json golden = load_golden("train_blocks.json");
  return golden.at("blocks").at(name);
}

TEST(TrainBlocks, EmbeddingMatchesTorch) {
  const nlohmann::json& g = block("embedding");
  const int64_t V = g["V"], H = g["H"];
  const std::vector<int32_t> tokens = g["tokens"];
  const std::vector<float> table = floats(g["table"]), dout = floats(g["dout"]);
  std::vector<float> out(tokens.size() * H), d_table(V * H, 0.0f);
  embedding_forward(out.data(), tokens, table.data(), V, H);
  embedding_backward(d_table.data(), tokens, dout.data(), H);
  expect_close(out, g["out"], 0.0, "embedding out");
  expect_close(d_table, g["d_table"], kTolerance, "embedding d_table");
}

TEST(TrainBlocks, EmbeddingRejectsATokenOutsideTheVocabulary) {
  const std::vector<float> table(4 * 2);
  std::vector<float> out(2);
  const std::vector<int32_t> tokens = {4};
  EXPECT_THROW(embedding_forward(out.data(), tokens, table.data(), 4, 2), UsageError);
}

TEST(TrainBlocks, RmsNormMatchesTorch) {
  const nlohmann::json& g = block("rmsnorm");
  const int64_t T = g["T"], H = g["H"];
  const std::vector<float> x = floats(g["x"]), w = floats(g["w"]), dout = floats(g["dout"]);
  ThreadPool pool(2);
  RmsNormSaved saved;
  std::vector<float> out(T * H), dx(T * H, 0.0f), dw(H, 0.0f);
  rmsnorm_forward(out.data(), x.data(), w.data(), saved, T, H, g["eps"].get<float>(), &pool);
  rmsnorm_backward(dx.data(), dw.data(), dout.data(), x.data(), w.data(), saved, T, H, &pool);
  expect_close(out, g["out"], kTolerance, "rmsnorm out");
  expect_close(dx, g["dx"], kTolerance, "rmsnorm dx");
  expect_close(dw, g["dw"], kTolerance, "rmsnorm dw");
}

TEST(TrainBlocks, LinearMatchesTorch) {
  const nlohmann::json& g = block("linear");
  const int64_t T = g["T"], I = g["I"], O = g["O"];
  const std::vector<float> x = floats(g["x"]), w = floats(g["w"]), b = floats(g["b"]), dout = floats(g["dout"]);
  ThreadPool pool(2);
  std::vector<float> out(T * O), dx(T * I, 0.0f), dw(O * I, 0.0f), db(O, 0.0f);
  linear_forward(out.data(), x.data(), w.data(), b.data(), T, I, O, &pool);
  linear_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), T, I, O, &pool);
  expect_close(out, g["out"], kTolerance, "linear out");
  expect_close(dx, g["dx"], kTolerance, "linear dx");
  expect_close(dw, g["dw"], kTolerance, "linear dw");
  expect_close(db, g["db"], kTolerance, "linear db");
}

TEST(TrainBlocks, LinearBackwardAccumulates) {
  // Two backward calls add up: the gradients are twice one call's (up to the order of the sums).
  const nlohmann::json& g = block("linear");
  const int64_t T = g["T"], I = g["I"], O = g["O"];
  const std::vector<float> x = floats(g["x"]), w = floats(g["w"]), dout = floats(g["dout"]);
  std::vector<float> dx(T * I, 0.0f), dw(O * I, 0.0f), once(O * I, 0.0f);
  linear_backward(nullptr, once.data(), nullptr, dout.data(), x.data(), w.data(), T, I, O, nullptr);
  for (int pass = 0; pass < 2; ++pass)
    linear_backward(dx.data(), dw.data(), nullptr, dout.data(), x.data(), w.data(), T, I, O, nullptr);
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(dw[i], 2 * once[i], 1e-5);
}

void check_attention(const std::string& name, std::vector<std::string> names) {
  const nlohmann::json& g = block(name);
  AttentionConfig config;
  config.batch = g["B"];
  config.seq = g["S"];
  config.hidden = g["H"];
  config.n_heads = g["n_heads"];
  config.n_kv_heads = g["n_kv_heads"];
  config.head_dim = g["head_dim"];
  config.scale = 1.0f / std::sqrt(static_cast<float>(config.head_dim));
  config.rope_theta = g["theta"];
  config.rope_style = g["style"] == "neox" ? kernels::RopeStyle::kNeox : kernels::RopeStyle::kInterleaved;
  config.qk_norm = g["qk_norm"] == "per_head" ? model::QkNorm::kPerHead
                   : g["qk_norm"] == "whole"  ? model::QkNorm::kWhole
                                              : model::QkNorm::kNone;
  config.rms_eps = g["eps"];
  if (!g["clip_qkv"].is_null()) config.clip_qkv = g["clip_qkv"].get<float>();
  const int64_t T = config.batch * config.seq, H = config.hidden;
  const std::vector<float> x = floats(g["x"]), dout = floats(g["dout"]);
  std::map<std::string, std::vector<float>> values, grads;
  for (const std::string& n : names) {
    values[n] = floats(g[n]);
    grads[n].assign(values[n].size(), 0.0f);
  }
  auto value = [&](const char* n) { return values.count(n) ? values[n].data() : nullptr; };
  auto grad = [&](const char* n) { return grads.count(n) ? grads[n].data() : nullptr; };
  const AttentionParams params{value("wq"), value("wk"), value("wv"),     value("wo"),    value("bq"),
                               value("bk"), value("bv"), value("q_norm"), value("k_norm")};
  const AttentionGrads d_params{grad("wq"), grad("wk"), grad("wv"),     grad("wo"),    grad("bq"),
                                grad("bk"), grad("bv"), grad("q_norm"), grad("k_norm")};
  ThreadPool pool(2);
  AttentionSaved saved;
  std::vector<float> out(T * H), dx(T * H, 0.0f);
  attention_forward(out.data(), x.data(), params, config, saved, &pool);
  attention_backward(dx.data(), d_params, dout.data(), x.data(), params, config, saved, &pool);
  expect_close(out, g["out"], kTolerance, name + " out");
  expect_close(dx, g["dx"], kTolerance, name + " dx");
  for (const std::string& n : names) expect_close(grads[n], g["d_" + n], kTolerance, name + " d_" + n);
}

TEST(TrainBlocks, AttentionRotateHalfWithBiasesMatchesTorch) {
  check_attention("attention_neox_bias", {"wq", "wk", "wv", "wo", "bq", "bk", "bv"});
}

TEST(TrainBlocks, AttentionInterleavedMatchesTorch) {
  check_attention("attention_interleaved", {"wq", "wk", "wv", "wo"});
}

TEST(TrainBlocks, AttentionWithPerHeadQkNormsMatchesTorch) {  // Qwen3-MoE
  check_attention("attention_qk_norm_per_head", {"wq", "wk", "wv", "wo", "q_norm", "k_norm"});
}

TEST(TrainBlocks, AttentionWithWholeQkNormsAndClippingMatchesTorch) {  // OLMoE
  check_attention("attention_qk_norm_whole_clip", {"wq", "wk", "wv", "wo", "q_norm", "k_norm"});
}

TEST(TrainBlocks, AttentionRejectsHeadsNotAMultipleOfKvHeads) {
  AttentionConfig config;
  config.batch = config.seq = 1;
  config.hidden = 4;
  config.n_heads = 3;
  config.n_kv_heads = config.head_dim = 2;
  const std::vector<float> x(4), w(64);
  std::vector<float> out(4);
  AttentionSaved saved;
  EXPECT_THROW(
      attention_forward(out.data(), x.data(), {w.data(), w.data(), w.data(), w.data()}, config, saved, nullptr),
      ConfigError);
}

TEST(TrainBlocks, GroupedSwigluMatchesTorch) {
  const nlohmann::json& g = block("swiglu_grouped");
  const int64_t H = g["H"], F = g["F"];
  const std::vector<int64_t> offsets = g["offsets"];
  const int64_t n_experts = static_cast<int64_t>(offsets.size()) - 1, R = offsets.back();
  const std::vector<float> x = floats(g["x"]), dout = floats(g["dout"]);
  std::vector<std::vector<float>> gate, up, down, d_gate, d_up, d_down;
  std::vector<SwigluParams> params;
  std::vector<SwigluGrads> grads;
  for (int64_t e = 0; e < n_experts; ++e) {
    gate.push_back(floats(g["gate"][e]));
    up.push_back(floats(g["up"][e]));
    down.push_back(floats(g["down"][e]));
    d_gate.emplace_back(F * H, 0.0f);
    d_up.emplace_back(F * H, 0.0f);
    d_down.emplace_back(H * F, 0.0f);
  }
  for (int64_t e = 0; e < n_experts; ++e) {
    params.push_back({gate[e].data(), up[e].data(), down[e].data()});
    grads.push_back({d_gate[e].data(), d_up[e].data(), d_down[e].data()});
  }
  ThreadPool pool(2);
  SwigluSaved saved;
  std::vector<float> out(R * H), dx(R * H, 0.0f);
  swiglu_forward(out.data(), x.data(), offsets, params, H, F, saved, &pool);
  swiglu_backward(dx.data(), grads, dout.data(), x.data(), offsets, params, H, F, saved, &pool);
  expect_close(out, g["out"], kTolerance, "swiglu out");
  expect_close(dx, g["dx"], kTolerance, "swiglu dx");
  for (int64_t e = 0; e < n_experts; ++e) {
    const std::string tag = "swiglu expert " + std::to_string(e);
    expect_close(d_gate[e], g["d_gate"][e], kTolerance, tag + " d_gate");
    expect_close(d_up[e], g["d_up"][e], kTolerance, tag + " d_up");
    expect_close(d_down[e], g["d_down"][e], kTolerance, tag + " d_down");
  }
}

TEST(TrainBlocks, CrossEntropyMatchesTorch) {
  const nlohmann::json& g = block("cross_entropy");
  const int64_t V = g["V"];
  const std::vector<float> logits = floats(g["logits"]);
  const std::vector<int32_t> targets = g["targets"];
  ThreadPool pool(2);
  CrossEntropySaved saved;
  const double loss = cross_entropy_forward(logits.data(), targets, V, saved, &pool);
  std::vector<float> d_logits(logits.size());
  cross_entropy_backward(d_logits.data(), logits.data(), targets, V, 1.0, saved, &pool);
  EXPECT_NEAR(loss, g["loss"].get<double>(), 1e-6 * g["loss"].get<double>());
  expect_close(d_logits, g["d_logits"], kTolerance, "cross_entropy d_logits");
}

TEST(TrainBlocks, CrossEntropyRejectsATargetOutsideTheVocabulary) {
  const std::vector<float> logits(3);
  const std::vector<int32_t> targets = {3};
  CrossEntropySaved saved;
  EXPECT_THROW(cross_entropy_forward(logits.data(), targets, 3, saved, nullptr), UsageError);
}

}  // namespace
}  // namespace moe::train
