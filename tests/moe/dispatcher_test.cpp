// Local dispatch + combine: rows grouped by expert in token order; identity experts give back the
// input weighted by the routing weights; edge cases (one expert takes all, empty experts).
#include "moe/dispatcher.h"

#include <gtest/gtest.h>

namespace moe {
namespace {

Routing make_routing(int64_t n_tokens, int64_t k, std::vector<int32_t> ids, std::vector<float> weights) {
  Routing r;
  r.n_tokens = n_tokens;
  r.top_k = k;
  r.expert_ids = std::move(ids);
  r.weights = std::move(weights);
  return r;
}

TEST(Dispatcher, GroupsRowsByExpertInTokenOrder) {
  // 3 tokens, k = 2, 4 experts: t0 -> {2, 0}, t1 -> {0, 3}, t2 -> {2, 3}.
  const Routing r = make_routing(3, 2, {2, 0, 0, 3, 2, 3}, {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f});
  const std::vector<float> hidden = {10, 11, 20, 21, 30, 31};  // H = 2
  LocalDispatcher dispatcher(4);
  ExpertBatch batch;
  dispatcher.dispatch(hidden.data(), 2, r, batch);
  EXPECT_EQ(batch.expert_offsets, (std::vector<int64_t>{0, 2, 2, 4, 6}));
  // expert 0: t0, t1; expert 1: none; expert 2: t0, t2; expert 3: t1, t2.
  EXPECT_EQ(batch.rows, (std::vector<float>{10, 11, 20, 21, 10, 11, 30, 31, 20, 21, 30, 31}));
}

TEST(Dispatcher, IdentityExpertsGiveTheWeightedInput) {
  const Routing r = make_routing(2, 2, {1, 0, 1, 1}, {0.75f, 0.25f, 0.5f, 0.25f});
  const std::vector<float> hidden = {1, 2, 3, 4, 5, 6};  // H = 3
  LocalDispatcher dispatcher(2);
  ExpertBatch batch;
  dispatcher.dispatch(hidden.data(), 3, r, batch);
  std::vector<float> out(6);
  dispatcher.combine(batch, batch.rows.data(), r, out.data());
  EXPECT_EQ(out, (std::vector<float>{1, 2, 3, 3, 3.75f, 4.5f}));
}

TEST(Dispatcher, AllTokensToOneExpertAndEmptyExperts) {
  const int64_t n_tokens = 5;
  const Routing r = make_routing(n_tokens, 1, std::vector<int32_t>(n_tokens, 3), std::vector<float>(n_tokens, 1.0f));
  std::vector<float> hidden(n_tokens);
  for (int64_t t = 0; t < n_tokens; ++t) hidden[t] = static_cast<float>(t);
  LocalDispatcher dispatcher(4);
  ExpertBatch batch;
  dispatcher.dispatch(hidden.data(), 1, r, batch);
  EXPECT_EQ(batch.expert_offsets, (std::vector<int64_t>{0, 0, 0, 0, 5}));
  std::vector<float> out(n_tokens);
  dispatcher.combine(batch, batch.rows.data(), r, out.data());
  EXPECT_EQ(out, hidden);
}

}  // namespace
}  // namespace moe
