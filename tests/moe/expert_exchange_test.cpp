// The expert exchange on one process (the multi-rank paths run under mpirun in the layout and
// training EP tests): the plan follows the per-expert offsets, dispatch and combine hand the rows
// back unchanged, and the exchange's buffers survive plans of different sizes.
#include "moe/expert_exchange.h"

#include <gtest/gtest.h>

namespace moe {
namespace {

TEST(ExpertExchange, OneRankPlansAndMovesRowsUnchanged) {
  parallel::Communicator single = parallel::Communicator::single();
  ExpertExchange exchange(single, 3, /*check=*/true);
  EXPECT_EQ(exchange.first_expert(), 0);
  EXPECT_EQ(exchange.local_experts(), 3);
  ExchangePlan plan;
  for (const std::vector<int64_t>& offsets : {std::vector<int64_t>{0, 2, 2, 5}, std::vector<int64_t>{0, 1, 1, 1}}) {
    exchange.plan(offsets, plan);
    EXPECT_EQ(plan.send_rows, (std::vector<int64_t>{offsets.back()}));
    EXPECT_EQ(plan.recv_rows, (std::vector<int64_t>{offsets.back()}));
    EXPECT_EQ(plan.offsets, offsets);
    std::vector<float> rows(offsets.back() * 2), here, back;
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(i) + 0.5f;
    exchange.dispatch(plan, rows.data(), 2, here);
    EXPECT_EQ(here, rows);
    exchange.combine(plan, here.data(), 2, back);
    EXPECT_EQ(back, rows);
  }
}

}  // namespace
}  // namespace moe
