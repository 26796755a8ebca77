// The MoE layer (router with jitter, aux and z losses, capacity drops, permute, grouped experts,
// combine, shared expert) against PyTorch autograd in float64 (tests/golden/train_blocks.json).
// The permutation's own tests are in tests/moe/token_permutation_test.cpp.
#include "train/moe_layer.h"

#include <gtest/gtest.h>

#include "train_golden.h"

namespace moe::train {
namespace {

using testing::expect_close;
using testing::floats;
using testing::load_golden;

constexpr double kTolerance = 1e-5;  // float32 rounding lands near 3e-7 of each array's scale

RouterTrainConfig router_config(const nlohmann::json& j) {
  RouterTrainConfig config;
  config.num_experts = j["num_experts"];
  config.topk = j["topk"];
  config.pre_softmax = j["pre_softmax"];
  config.load_balancing = LoadBalancing::kAuxLoss;
  config.aux_loss_coeff = j["aux_loss_coeff"];
  config.z_loss_coeff = j["z_loss_coeff"];
  if (!j["capacity_factor"].is_null()) config.capacity_factor = j["capacity_factor"].get<double>();
  config.drop_policy = DropPolicy::kProbs;
  config.validate();
  return config;
}

void check_moe(const std::string& name) {
  static const nlohmann::json golden = load_golden("train_blocks.json");
  const nlohmann::json& g = golden.at("blocks").at(name);
  MoeLayerConfig config;
  config.hidden = g["H"];
  config.expert_ffn = g["F"];
  config.shared_ffn = g["shared_ffn"];
  config.router = router_config(g["router_config"]);
  const int64_t T = g["T"], H = config.hidden, E = config.router.num_experts;
  config.seq_length = T;
  const std::vector<float> x = floats(g["x"]), dout = floats(g["dout"]), router = floats(g["router"]);
  std::vector<float> d_router(router.size(), 0.0f);
  std::vector<std::vector<float>> values, grads;  // per expert: gate, up, down
  for (int64_t e = 0; e < E; ++e)
    for (const char* role : {"gate", "up", "down"}) {
      values.push_back(floats(g[role][e]));
      grads.emplace_back(values.back().size(), 0.0f);
    }
  MoeParams params;
  MoeGrads d_params;
  params.router = router.data();
  d_params.router = d_router.data();
  for (int64_t e = 0; e < E; ++e) {
    params.experts.push_back({values[3 * e].data(), values[3 * e + 1].data(), values[3 * e + 2].data()});
    d_params.experts.push_back({grads[3 * e].data(), grads[3 * e + 1].data(), grads[3 * e + 2].data()});
  }
  std::vector<std::vector<float>> shared, d_shared;
  if (config.shared_ffn > 0) {
    for (const char* n : {"shared_gate_proj", "shared_up_proj", "shared_down_proj", "shared_gate"}) {
      shared.push_back(floats(g[n]));
      d_shared.emplace_back(shared.back().size(), 0.0f);
    }
    params.shared = {shared[0].data(), shared[1].data(), shared[2].data()};
    params.shared_gate = shared[3].data();
    d_params.shared = {d_shared[0].data(), d_shared[1].data(), d_shared[2].data()};
    d_params.shared_gate = d_shared[3].data();
  }

  ThreadPool pool(2);
  MoeSaved saved;
  std::vector<float> out(T * H), dx(T * H, 0.0f);
  moe_forward(out.data(), x.data(), T, params, config, floats(g["noise"]), saved, &pool);
  moe_backward(dx.data(), d_params, dout.data(), x.data(), T, params, config, saved, 1.0f, &pool);

  std::vector<int32_t> experts;
  for (const auto& row : g["experts"])
    for (int32_t e : row) experts.push_back(e);
  EXPECT_EQ(saved.routing.experts, experts);
  EXPECT_EQ(saved.routing.dropped, g["dropped"].get<int64_t>());
  EXPECT_EQ(saved.routing.tokens_per_expert, g["tokens_per_expert"].get<std::vector<int64_t>>());
  EXPECT_NEAR(saved.routing.aux_loss, g["aux_loss"].get<double>(), 1e-6 * g["aux_loss"].get<double>() + 1e-12);
  EXPECT_NEAR(saved.routing.z_loss, g["z_loss"].get<double>(), 1e-6 * g["z_loss"].get<double>() + 1e-12);
  expect_close(saved.routing.weights, g["weights"], kTolerance, name + " weights");
  expect_close(out, g["out"], kTolerance, name + " out");
  expect_close(dx, g["dx"], kTolerance, name + " dx");
  expect_close(d_router, g["d_router"], kTolerance, name + " d_router");
  for (int64_t e = 0; e < E; ++e) {
    const char* roles[] = {"d_gate", "d_up", "d_down"};
    for (int r = 0; r < 3; ++r)
      expect_close(grads[3 * e + r], g[roles[r]][e], kTolerance,
                   name + " expert " + std::to_string(e) + " " + roles[r]);
  }
  if (config.shared_ffn > 0) {
    const char* names[] = {"d_shared_gate_proj", "d_shared_up_proj", "d_shared_down_proj", "d_shared_gate"};
    for (int i = 0; i < 4; ++i) expect_close(d_shared[i], g[names[i]], kTolerance, name + " " + names[i]);
  }
}

TEST(TrainMoeLayer, RenormRouterWithJitterAuxAndZLossMatchesTorch) { check_moe("moe_renorm_jitter"); }

TEST(TrainMoeLayer, CapacityDropsAndSharedExpertMatchTorch) { check_moe("moe_capacity_shared"); }

TEST(TrainMoeLayer, JitterStaysInsideItsRangeAndFollowsTheSeed) {
  Rng a(5), b(5);
  const std::vector<float> first = draw_jitter(a, 0.01, 1000), second = draw_jitter(b, 0.01, 1000);
  EXPECT_EQ(first, second);
  for (float f : first) {
    EXPECT_GE(f, 0.99f);
    EXPECT_LE(f, 1.01f);
  }
}

}  // namespace
}  // namespace moe::train
