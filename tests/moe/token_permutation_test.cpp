// The shared token permutation (inference dispatch, training MoE layer): rows grouped by expert in
// token order with dropped pairs left out, the round trip through combine, the same bits on a pool
// as serially, and buffers reused across plans of different sizes.
#include "moe/token_permutation.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/random.h"

namespace moe {
namespace {

TEST(TokenPermutation, PermuteThenCombineWithUnitWeightsReturnsTheInput) {
  // Token 0 -> experts 2, 0; token 1 -> expert 1, its second pair dropped; token 2 -> 0, 2.
  const std::vector<int32_t> experts = {2, 0, 1, -1, 0, 2};
  const std::vector<float> weights = {0.5f, 0.5f, 1.0f, 0.0f, 0.25f, 0.75f};
  Permutation perm;
  plan_permutation(experts, 3, 2, 3, perm);
  EXPECT_EQ(perm.offsets, (std::vector<int64_t>{0, 2, 3, 5}));
  // Rows hold tokens 0, 2 (expert 0), 1 (expert 1), 0, 2 (expert 2).
  EXPECT_EQ(perm.row_of_pair, (std::vector<int64_t>{3, 0, 2, -1, 1, 4}));
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  std::vector<float> rows(perm.n_rows() * 2), out(6);
  permute_forward(rows.data(), x.data(), perm, 2, nullptr);
  EXPECT_EQ(rows, (std::vector<float>{1, 2, 5, 6, 3, 4, 1, 2, 5, 6}));
  combine_forward(out.data(), rows.data(), weights, perm, 2, nullptr);
  EXPECT_EQ(out, x);
}

TEST(TokenPermutation, PoolGivesTheSerialBitsAndPlansReuseTheirBuffers) {
  // 77 tokens (ranges of 16 and a remainder), k = 3 of 5 experts, about one pair in 6 dropped.
  const int64_t T = 77, k = 3, E = 5, H = 33;
  Rng rng(11);
  std::vector<int32_t> experts(T * k);
  for (int32_t& e : experts) e = static_cast<int32_t>(rng.uniform() * (E + 1)) - 1;
  std::vector<float> x(T * H), weights(T * k);
  for (float& v : x) v = static_cast<float>(rng.uniform() - 0.5);
  for (float& w : weights) w = static_cast<float>(rng.uniform());

  Permutation fresh, reused;
  plan_permutation(std::vector<int32_t>(2 * T * k, 4), 2 * T, k, E, reused);  // a larger plan first
  plan_permutation(experts, T, k, E, fresh);
  plan_permutation(experts, T, k, E, reused);
  EXPECT_EQ(reused.offsets, fresh.offsets);
  EXPECT_EQ(reused.row_of_pair, fresh.row_of_pair);

  ThreadPool pool(2);
  std::vector<float> rows_serial(fresh.n_rows() * H), rows_pool(fresh.n_rows() * H);
  permute_forward(rows_serial.data(), x.data(), fresh, H, nullptr);
  permute_forward(rows_pool.data(), x.data(), fresh, H, &pool);
  EXPECT_EQ(rows_pool, rows_serial);
  std::vector<float> out_serial(T * H), out_pool(T * H, -1.0f);
  combine_forward(out_serial.data(), rows_serial.data(), weights, fresh, H, nullptr);
  combine_forward(out_pool.data(), rows_serial.data(), weights, fresh, H, &pool);
  EXPECT_EQ(std::memcmp(out_pool.data(), out_serial.data(), out_serial.size() * sizeof(float)), 0);
  // Token 0 by hand: its kept pairs' weighted rows (the rows are its own input) in k order.
  std::vector<float> token0(H, 0.0f);
  for (int64_t j = 0; j < k; ++j)
    if (experts[j] >= 0)
      for (int64_t i = 0; i < H; ++i) token0[i] += weights[j] * x[i];
  EXPECT_EQ(std::vector<float>(out_serial.begin(), out_serial.begin() + H), token0);
}

}  // namespace
}  // namespace moe
