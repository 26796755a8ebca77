// The whole TrainModel (2 layers, Mixtral- and Qwen2-MoE-like) against PyTorch autograd in float64
// (tests/golden/train_model.json, from tests/reference/block_grads_reference.py): loss parts,
// routing counts and the gradient of every parameter; then properties the trainer relies on (loss
// scale, evaluation forward, export and re-import) and a finite-difference check of the loss.
#include "train/train_model.h"
#include <cmath>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "train_golden.h"

namespace moe::train {
namespace {

using testing::floats;
using testing::load_golden;
using testing::relative_error;

const nlohmann::json& golden_model(const std::string& name) {
  static const nlohmann::json golden = load_golden("train_model.json");
  return golden.at("models").at(name);
}

model::ModelConfig model_config(const nlohmann::json& g) {
  const nlohmann::json& c = g["config"];
  model::ModelConfig config;
  config.arch = c["arch"] == "mixtral" ? model::Arch::kMixtral
                : c["arch"] == "olmoe" ? model::Arch::kOlmoe
                                       : model::Arch::kQwen2Moe;
  config.vocab_size = c["vocab_size"];
  config.hidden_size = c["hidden_size"];
  config.max_positions = 64;
  config.rms_eps = c["rms_eps"];
  config.rope_theta = c["rope_theta"];
  model::LayerSpec layer;
  model::AttentionSpec& a = layer.attention;
  a.n_heads = c["n_heads"];
  a.n_kv_heads = c["n_kv_heads"];
  a.head_dim = a.head_dim_v = c["head_dim"];
  a.scale = 1.0f / std::sqrt(static_cast<float>(a.head_dim));
  a.qkv_bias = c["qkv_bias"];
  a.qk_norm = c["qk_norm"] == "whole"      ? model::QkNorm::kWhole
              : c["qk_norm"] == "per_head" ? model::QkNorm::kPerHead
                                           : model::QkNorm::kNone;
  if (!c["clip_qkv"].is_null()) a.clip_qkv = c["clip_qkv"].get<float>();
  layer.ffn.expert_ffn = c["expert_ffn"];
  layer.ffn.shared_expert_ffn = c["shared_expert_ffn"];
  layer.ffn.router.n_experts = c["num_experts"];
  layer.ffn.router.top_k = c["topk"];
  layer.ffn.router.renormalize = !g["router_config"]["pre_softmax"].get<bool>();
  config.layers = model::uniform_layers(c["n_layers"], layer);
  return config;
}

TrainModelOptions options(const nlohmann::json& g) {
  const nlohmann::json& r = g["router_config"];
  TrainModelOptions o;
  o.router.num_experts = r["num_experts"];
  o.router.topk = r["topk"];
  o.router.pre_softmax = r["pre_softmax"];
  o.router.aux_loss_coeff = r["aux_loss_coeff"];
  o.router.z_loss_coeff = r["z_loss_coeff"];
  if (!r["capacity_factor"].is_null()) o.router.capacity_factor = r["capacity_factor"].get<double>();
  o.seq_length = g["seq"];
  return o;
}

// The golden parameters as a model::Model, as load_model would give it.
model::Model golden_weights(const nlohmann::json& g) {
  model::Model m;
  m.name = "golden";
  m.config = model_config(g);
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, values] : g["params"].items())
    tensors.emplace(name, Tensor::from_f32(g["shapes"][name].get<std::vector<int64_t>>(), floats(values)));
  m.weights = model::weights_from_hf(m.config, tensors, "golden");
  return m;
}

struct GoldenRun {
  std::unique_ptr<TrainModel> net;
  LossParts parts;
};

GoldenRun run_golden(const std::string& name, ThreadPool* pool, float loss_scale = 1.0f) {
  const nlohmann::json& g = golden_model(name);
  GoldenRun run{std::make_unique<TrainModel>(model_config(g), options(g), pool), {}};
  run.net->load_weights(golden_weights(g));
  const std::vector<int32_t> tokens = g["tokens"], targets = g["targets"];
  Rng jitter(1);
  run.parts = run.net->forward_backward(tokens, targets, g["batch"], g["seq"], loss_scale, jitter);
  return run;
}

void check_against_torch(const std::string& name) {
  const nlohmann::json& g = golden_model(name);
  ThreadPool pool(2);
  GoldenRun run = run_golden(name, &pool);
  const LossParts& p = run.parts;
  EXPECT_NEAR(p.loss, g["loss"].get<double>(), 1e-5 * g["loss"].get<double>());
  EXPECT_NEAR(p.lm_loss, g["lm_loss"].get<double>(), 1e-5 * g["lm_loss"].get<double>());
  EXPECT_NEAR(p.aux_loss, g["aux_loss"].get<double>(), 1e-5 * g["aux_loss"].get<double>());
  EXPECT_NEAR(p.z_loss, g["z_loss"].get<double>(), 1e-5 * g["z_loss"].get<double>() + 1e-12);
  EXPECT_EQ(p.dropped_tokens, g["dropped"].get<int64_t>());
  EXPECT_EQ(p.expert_tokens, g["expert_tokens"].get<std::vector<std::vector<int64_t>>>());
  EXPECT_EQ(p.n_targets, 9);  // 2 x 5 tokens, one without a target

  double worst = 0;
  std::string worst_name;
  int64_t n_params = 0;
  for (const ParamRef& param : run.net->params()) {
    ASSERT_TRUE(g["grads"].contains(param.name)) << param.name;
    const std::vector<float> grad(param.grad.begin(), param.grad.end());
    const double error = relative_error(grad, floats(g["grads"][param.name]));
    EXPECT_LE(error, 1e-5) << param.name;
    if (error > worst) worst = error, worst_name = param.name;
    ++n_params;
  }
  EXPECT_EQ(n_params, static_cast<int64_t>(g["grads"].size()));
  std::printf("  %s: loss %.9g (torch %.9g), %lld gradients, worst relative error %.2e (%s)\n", name.c_str(), p.loss,
              g["loss"].get<double>(), static_cast<long long>(n_params), worst, worst_name.c_str());
}

TEST(TrainModel, MixtralLikeLossAndGradientsMatchTorch) { check_against_torch("mixtral"); }

TEST(TrainModel, QwenLikeWithCapacityDropsAndSharedExpertMatchesTorch) { check_against_torch("qwen2moe"); }

TEST(TrainModel, OlmoeLikeWithQkNormsAndClippingMatchesTorch) { check_against_torch("olmoe"); }

TEST(TrainModel, LossScaleScalesEveryGradientIncludingTheRouterLosses) {
  GoldenRun full = run_golden("qwen2moe", nullptr), half = run_golden("qwen2moe", nullptr, 0.5f);
  std::vector<ParamRef> a = full.net->params(), b = half.net->params();
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[i].grad.size(); ++j)
      ASSERT_NEAR(b[i].grad[j], 0.5f * a[i].grad[j], 1e-6f * (1 + std::abs(a[i].grad[j]))) << a[i].name;
}

TEST(TrainModel, EvaluationForwardGivesTheTrainingLossAndExportRoundTrips) {
  const nlohmann::json& g = golden_model("mixtral");
  GoldenRun run = run_golden("mixtral", nullptr);
  const std::vector<int32_t> tokens = g["tokens"], targets = g["targets"];
  std::vector<float> logits;
  const LossParts eval = run.net->forward(tokens, targets, g["batch"], g["seq"], &logits);
  EXPECT_EQ(eval.loss, run.parts.loss);
  EXPECT_EQ(logits.size(), static_cast<size_t>(10 * 24));
  EXPECT_EQ(run.net->evaluate(tokens, targets, g["batch"], g["seq"]), run.parts.lm_loss);

  const model::Model exported = run.net->to_model(tokenizer::Vocab{});
  TrainModel copy(exported.config, options(g));
  copy.load_weights(exported);
  EXPECT_EQ(copy.forward(tokens, targets, g["batch"], g["seq"]).loss, run.parts.loss);
  EXPECT_EQ(copy.named_tensors().size(), run.net->params().size());
}

TEST(TrainModel, GradientsMatchFiniteDifferencesOfTheLoss) {
  // Central differences of the f32 loss, step 1e-3 (small enough that no routing decision moves:
  // every top-k margin in the golden is above 1e-3): agreement to ~1e-3 of the gradient scale.
  const nlohmann::json& g = golden_model("mixtral");
  GoldenRun run = run_golden("mixtral", nullptr);
  const std::vector<int32_t> tokens = g["tokens"], targets = g["targets"];
  int checked = 0;
  for (const ParamRef& param : run.net->params()) {
    if (param.name.find("layers.0.self_attn.q_proj") == std::string::npos &&
        param.name.find("layers.1.block_sparse_moe.gate") == std::string::npos &&
        param.name.find("experts.2.w1") == std::string::npos && param.name != "model.norm.weight")
      continue;
    // The entry with the largest gradient: the best signal over the loss's f32 rounding.
    const size_t index = std::max_element(param.grad.begin(), param.grad.end(),
                                          [](float a, float b) { return std::abs(a) < std::abs(b); }) -
                         param.grad.begin();
    const float saved = param.value[index], step = 1e-3f;
    param.value[index] = saved + step;
    const double up = run.net->forward(tokens, targets, g["batch"], g["seq"]).loss;
    param.value[index] = saved - step;
    const double down = run.net->forward(tokens, targets, g["batch"], g["seq"]).loss;
    param.value[index] = saved;
    const double numeric = (up - down) / (2.0 * step);
    std::printf("  %-45s d/dw[%zu] %.6f, finite difference %.6f\n", param.name.c_str(), index, param.grad[index],
                numeric);
    EXPECT_NEAR(numeric, param.grad[index], 2e-3 * std::abs(param.grad[index]) + 5e-4) << param.name;
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(TrainModel, GradientsDoNotDependOnTheThreadCount) {
  ThreadPool pool(2);
  GoldenRun one = run_golden("qwen2moe", nullptr), two = run_golden("qwen2moe", &pool);
  EXPECT_EQ(one.parts.loss, two.parts.loss);
  std::vector<ParamRef> a = one.net->params(), b = two.net->params();
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(std::equal(a[i].grad.begin(), a[i].grad.end(), b[i].grad.begin())) << a[i].name;
}

TEST(TrainModel, TiedOutputMatrixGetsBothGradients) {
  // With tie_embeddings the output projection is the embedding: one parameter, whose gradient
  // must sum both uses (checked by finite differences; step 1e-3 as above).
  const nlohmann::json& g = golden_model("mixtral");
  model::ModelConfig config = model_config(g);
  config.tie_embeddings = true;
  TrainModel net(config, options(g));
  net.init_random(3, 0.3);
  const std::vector<int32_t> tokens = g["tokens"], targets = g["targets"];
  Rng jitter(0);
  net.forward_backward(tokens, targets, g["batch"], g["seq"], 1.0f, jitter);
  std::vector<ParamRef> params = net.params();
  auto embedding = std::find_if(params.begin(), params.end(),
                                [](const ParamRef& p) { return p.name == "model.embed_tokens.weight"; });
  ASSERT_NE(embedding, params.end());
  EXPECT_EQ(std::count_if(params.begin(), params.end(), [](const ParamRef& p) { return p.name == "lm_head.weight"; }),
            0);
  const int64_t H = config.hidden_size;
  // A row of an input token, and row 23, which no golden token uses (output only).
  for (const int64_t index : {tokens[0] * H + 3, 23 * H + 5}) {
    const float saved = embedding->value[index], step = 1e-3f;
    embedding->value[index] = saved + step;
    const double up = net.forward(tokens, targets, g["batch"], g["seq"]).loss;
    embedding->value[index] = saved - step;
    const double down = net.forward(tokens, targets, g["batch"], g["seq"]).loss;
    embedding->value[index] = saved;
    EXPECT_NEAR((up - down) / (2.0 * step), embedding->grad[index], 2e-3 * std::abs(embedding->grad[index]) + 5e-4);
  }
}

TEST(TrainModel, GradientStepsLowerTheLoss) {
  const nlohmann::json& g = golden_model("qwen2moe");
  GoldenRun run = run_golden("qwen2moe", nullptr);
  const std::vector<int32_t> tokens = g["tokens"], targets = g["targets"];
  Rng jitter(0);
  double loss = run.parts.loss;
  for (int step = 0; step < 5; ++step) {
    for (const ParamRef& p : run.net->params())
      for (size_t i = 0; i < p.value.size(); ++i) p.value[i] -= 0.05f * p.grad[i];
    run.net->zero_grad();
    const double next = run.net->forward_backward(tokens, targets, g["batch"], g["seq"], 1.0f, jitter).loss;
    EXPECT_LT(next, loss) << "step " << step;
    loss = next;
  }
}

TEST(TrainModel, LoadRejectsAMissingOrMisshapedTensor) {
  ParamStore store(model_config(golden_model("mixtral")));
  model::NamedTensors tensors = store.named_tensors();
  store.load(tensors, "test");
  tensors[1].second = Tensor::from_f32({1, tensors[1].second.numel()}, tensors[1].second.to_f32());
  EXPECT_THROW(store.load(tensors, "test"), FormatError);
  tensors.erase(tensors.begin() + 1);
  EXPECT_THROW(store.load(tensors, "test"), FormatError);
}

TEST(TrainModel, RejectsRouterOptionsThatRouteDifferentlyAndMisshapedBatches) {
  const nlohmann::json& g = golden_model("mixtral");
  const model::ModelConfig config = model_config(g);
  TrainModelOptions o = options(g);
  o.router.pre_softmax = true;  // the model renormalises the chosen weights
  EXPECT_THROW(TrainModel(config, o), ConfigError);
  o = options(g);
  o.router.topk = 1;
  EXPECT_THROW(TrainModel(config, o), ConfigError);
  TrainModel net(config, options(g));
  const std::vector<int32_t> tokens(6, 0);
  Rng jitter(0);
  EXPECT_THROW(net.forward_backward(tokens, tokens, 2, 3, 1.0f, jitter), UsageError);  // seq_length is 5
}

TEST(TrainModel, DescriptionsItDoesNotTrainYetAreConfigErrors) {
  const nlohmann::json& g = golden_model("mixtral");
  auto expect_error = [&](model::ModelConfig config, const std::string& text) {
    try {
      TrainModel net(config, options(g));
      ADD_FAILURE() << "no error; expected '" << text << "'";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  model::ModelConfig config = model_config(g);
  config.layers[1].attention.rope = false;
  expect_error(config, "layer 1: training needs every layer alike");
  for (model::LayerSpec& layer : config.layers) layer.attention.rope = false;
  expect_error(config, "no-RoPE layers");
  config = model_config(g);
  for (model::LayerSpec& layer : config.layers) layer.ffn.router.score_function = ScoreFunction::kSigmoid;
  expect_error(config, "the model as sigmoid");
}

}  // namespace
}  // namespace moe::train
