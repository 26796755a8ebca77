// The training log's writer against its reader: the lines step_json and resume_json write parse back
// with runtime's reader to the same values (both spell the keys of runtime/train_log_fields.h).
#include "train/train_log.h"

#include <gtest/gtest.h>

#include <sstream>

#include "runtime/train_log_reader.h"

namespace moe::train {
namespace {

TEST(TrainLog, WrittenLinesReadBack) {
  StepRecord first{.step = 4,
                   .loss = 2.5,
                   .lm_loss = 2.25,
                   .aux_loss = 0.2,
                   .z_loss = 0.05,
                   .grad_norm = 1.5,
                   .lr = 3e-4,
                   .tokens_per_s = 1000,
                   .expert_tokens = {{3, 1}, {0, 4}},
                   .dropped_tokens = 2,
                   .eval_loss = {}};
  StepRecord second = first;
  second.step = 5;
  second.eval_loss = 2.75;
  std::istringstream in(step_json(first).dump() + "\n" + resume_json(4, "ckpt/iter_0000004").dump() + "\n" +
                        step_json(second).dump() + "\n");
  const runtime::TrainLog log = runtime::parse_train_log(in, "train.jsonl");
  ASSERT_EQ(log.steps.size(), 2u);  // the resume line is an event, not a step
  const runtime::TrainLogStep& s = log.steps[0];
  EXPECT_EQ(s.step, 4);
  EXPECT_EQ(s.loss, 2.5);
  EXPECT_EQ(s.lm_loss, 2.25);
  EXPECT_EQ(s.aux_loss, 0.2);
  EXPECT_EQ(s.z_loss, 0.05);
  EXPECT_EQ(s.grad_norm, 1.5);
  EXPECT_EQ(s.lr, 3e-4);
  EXPECT_EQ(s.tokens_per_s, 1000);
  EXPECT_EQ(s.expert_tokens, first.expert_tokens);
  EXPECT_EQ(s.dropped_tokens, 2);
  EXPECT_FALSE(s.eval_loss);
  EXPECT_EQ(log.steps[1].step, 5);
  EXPECT_EQ(log.steps[1].eval_loss, 2.75);
  EXPECT_EQ(log.n_layers, 2);
  EXPECT_EQ(log.n_experts, 2);
}

}  // namespace
}  // namespace moe::train
