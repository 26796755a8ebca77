// The GEMM-based attention core against the reference loops (train/attention_core.h): GQA, three
// query blocks (the last one partial), forward (context, lse) and backward (dq, dk, dv) within
// float rounding of the reference; the bits do not depend on the pool; and the reference's
// gradients match central finite differences of sum(context * w) in double.
#include "train/attention_core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace moe::train {
namespace {

AttentionConfig config(int64_t seq) {
  AttentionConfig c;
  c.batch = 2;
  c.seq = seq;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.hidden = 64;
  c.scale = 0.25f;
  return c;
}

std::vector<float> random(int64_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct Inputs {
  std::vector<float> q, k, v, d_context;
};

Inputs inputs(const AttentionConfig& c) {
  const int64_t T = c.batch * c.seq, Q = c.n_heads * c.head_dim, K = c.n_kv_heads * c.head_dim;
  return {random(T * Q, 1, 1.5f), random(T * K, 2, 1.5f), random(T * K, 3, 1.0f), random(T * Q, 4, 1.0f)};
}

struct Outputs {
  std::vector<float> context, lse, dq, dk, dv;
};

template <class Forward, class Backward>
Outputs run(const AttentionConfig& c, const Inputs& in, Forward forward, Backward backward, ThreadPool* pool) {
  const int64_t T = c.batch * c.seq, Q = c.n_heads * c.head_dim, K = c.n_kv_heads * c.head_dim;
  Outputs out{std::vector<float>(T * Q), std::vector<float>(c.batch * c.n_heads * c.seq),
              std::vector<float>(T * Q, 0.5f), std::vector<float>(T * K, 0.5f), std::vector<float>(T * K, 0.5f)};
  forward(c, in.q.data(), in.k.data(), in.v.data(), out.context.data(), out.lse.data(), pool);
  backward(c, in.q.data(), in.k.data(), in.v.data(), out.context.data(), out.lse.data(), in.d_context.data(),
           out.dq.data(), out.dk.data(), out.dv.data(), pool);
  return out;
}

// Largest |got - want| over the largest |want|.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  return err / scale;
}

TEST(AttentionCore, MatchesTheReferenceOverSeveralBlocks) {
  const AttentionConfig c = config(2 * kAttentionRows + 22);
  const Inputs in = inputs(c);
  ThreadPool pool(2);
  const Outputs ref = run(c, in, attention_core_forward_ref, attention_core_backward_ref, &pool);
  const Outputs fast = run(c, in, attention_core_forward, attention_core_backward, &pool);
  EXPECT_LT(relative_error(fast.context, ref.context), 2e-6);
  EXPECT_LT(relative_error(fast.lse, ref.lse), 2e-6);
  EXPECT_LT(relative_error(fast.dq, ref.dq), 1e-5);
  EXPECT_LT(relative_error(fast.dk, ref.dk), 1e-5);
  EXPECT_LT(relative_error(fast.dv, ref.dv), 1e-5);
  // Not vacuous: the accumulated gradients moved away from their starting 0.5.
  EXPECT_GT(relative_error(fast.dk, std::vector<float>(fast.dk.size(), 0.5f)), 0.1);
}

TEST(AttentionCore, BitsDoNotDependOnThePool) {
  const AttentionConfig c = config(kAttentionRows + 9);
  const Inputs in = inputs(c);
  ThreadPool three(3);
  const Outputs alone = run(c, in, attention_core_forward, attention_core_backward, nullptr);
  const Outputs pooled = run(c, in, attention_core_forward, attention_core_backward, &three);
  for (auto field : {&Outputs::context, &Outputs::lse, &Outputs::dq, &Outputs::dk, &Outputs::dv})
    EXPECT_EQ(0, std::memcmp((alone.*field).data(), (pooled.*field).data(), (alone.*field).size() * sizeof(float)));
}

// Loss L = sum(context * w): dL/dq, dL/dk, dL/dv from the backward with d_context = w, against
// central differences of the forward in float64-accumulated sums (the reference, step 1e-2).
TEST(AttentionCore, ReferenceGradientsMatchFiniteDifferences) {
  AttentionConfig c = config(5);
  c.batch = 1;
  Inputs in = inputs(c);
  const auto loss = [&](const Inputs& x) {
    std::vector<float> context(x.q.size()), lse(c.n_heads * c.seq);
    attention_core_forward_ref(c, x.q.data(), x.k.data(), x.v.data(), context.data(), lse.data(), nullptr);
    double sum = 0;
    for (size_t i = 0; i < context.size(); ++i) sum += static_cast<double>(context[i]) * x.d_context[i];
    return sum;
  };
  const Outputs got = run(c, in, attention_core_forward_ref, attention_core_backward_ref, nullptr);
  for (auto [field, grad] :
       {std::pair{&Inputs::q, &Outputs::dq}, std::pair{&Inputs::k, &Outputs::dk}, std::pair{&Inputs::v, &Outputs::dv}})
    for (size_t i = 0; i < (in.*field).size(); i += 7) {
      const float saved = (in.*field)[i], h = 1e-2f;
      (in.*field)[i] = saved + h;
      const double up = loss(in);
      (in.*field)[i] = saved - h;
      const double down = loss(in);
      (in.*field)[i] = saved;
      EXPECT_NEAR((got.*grad)[i] - 0.5f, (up - down) / (2 * h), 2e-3) << i;
    }
}

}  // namespace
}  // namespace moe::train
