// Training log reader: step lines, skipped event and blank lines, resumed runs, every format error
// naming its line, and expert shares per layer and averaged over layers.
#include "runtime/train_log_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace moe::runtime {
namespace {

std::string step_line(int64_t step, double loss, const std::string& expert_tokens = "[[3, 1], [2, 2]]",
                      const std::string& extra = "") {
  return "{\"step\": " + std::to_string(step) + ", \"loss\": " + std::to_string(loss) +
         ", \"lm_loss\": 2.5, \"aux_loss\": 0.01, \"z_loss\": 0.001, \"grad_norm\": 1.5, \"lr\": 0.0003, "
         "\"tokens_per_s\": 1000, \"expert_tokens\": " +
         expert_tokens + ", \"dropped_tokens\": 0" + extra + "}\n";
}

TrainLog parse(const std::string& text) {
  std::istringstream in(text);
  return parse_train_log(in, "log.jsonl");
}

// The FormatError message parsing `text` gives.
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const FormatError& error) {
    return error.what();
  }
  return "no error";
}

TEST(TrainLog, ReadsStepsAndSkipsOtherLines) {
  const TrainLog log = parse(step_line(1, 3.0) + "\n{\"event\": \"resume\", \"step\": 1}\n" +
                             step_line(2, 2.75, "[[3, 1], [2, 2]]", ", \"eval_loss\": 2.9"));
  ASSERT_EQ(log.steps.size(), 2u);
  EXPECT_EQ(log.n_layers, 2);
  EXPECT_EQ(log.n_experts, 2);
  EXPECT_EQ(log.steps[0].step, 1);
  EXPECT_DOUBLE_EQ(log.steps[0].loss, 3.0);
  EXPECT_DOUBLE_EQ(log.steps[0].lr, 0.0003);
  EXPECT_FALSE(log.steps[0].eval_loss);
  EXPECT_DOUBLE_EQ(log.steps[1].eval_loss.value(), 2.9);
  EXPECT_EQ(log.steps[1].expert_tokens, (std::vector<std::vector<int64_t>>{{3, 1}, {2, 2}}));
}

TEST(TrainLog, NullLossReadsAsNan) {
  std::string line = step_line(1, 0);
  line.replace(line.find("\"loss\": 0.000000"), 16, "\"loss\": null");
  EXPECT_TRUE(std::isnan(parse(line).steps[0].loss));
}

TEST(TrainLog, AResumedRunReplacesTheStepsItRedoes) {
  const TrainLog log =
      parse(step_line(1, 3) + step_line(2, 2.9) + step_line(3, 2.8) + step_line(2, 2.5) + step_line(3, 2.4));
  ASSERT_EQ(log.steps.size(), 3u);
  EXPECT_DOUBLE_EQ(log.steps[1].loss, 2.5);
  EXPECT_DOUBLE_EQ(log.steps[2].loss, 2.4);
}

TEST(TrainLog, ErrorsNameTheLine) {
  EXPECT_EQ(error_of(step_line(1, 3) + "\n{\"step\": 2, \"loss\": \n"), "log.jsonl:3: not valid JSON (at byte 21)");
  EXPECT_EQ(error_of("[1, 2]\n"), "log.jsonl:1: expected a JSON object, got array");
  std::string no_lr = step_line(1, 3);
  no_lr.replace(no_lr.find("\"lr\""), 4, "\"lrate\"");
  EXPECT_EQ(error_of(no_lr), "log.jsonl:1: step line has no 'lr'");
  EXPECT_EQ(error_of(step_line(1, 3, "[[1, 2], [3]]")),
            "log.jsonl:1: 'expert_tokens' layer 1 has 1 experts, layer 0 2");
  EXPECT_EQ(error_of(step_line(1, 3, "[[1, -2]]")), "log.jsonl:1: 'expert_tokens' layer 0 holds -2, not a token count");
  EXPECT_EQ(error_of(step_line(1, 3) + step_line(2, 3, "[[1, 2, 3], [4, 5, 6]]")),
            "log.jsonl:2: 'expert_tokens' is 2x3 but earlier steps are 2x2");
  EXPECT_EQ(error_of("{\"step\": 1.5}\n"), "log.jsonl:1: 'step' is not an integer: 1.5");
  EXPECT_EQ(error_of("{\"event\": \"start\"}\n\n"),
            "log.jsonl: no training step lines (objects with \"step\", \"loss\", ...)");
}

TEST(TrainLog, ExpertSharesPerLayerAndAveraged) {
  TrainLogStep step;
  step.expert_tokens = {{3, 1}, {2, 2}, {0, 0}};
  EXPECT_EQ(expert_shares(step, 0), (std::vector<double>{0.75, 0.25}));
  EXPECT_EQ(expert_shares(step, 1), (std::vector<double>{0.5, 0.5}));
  // The layer without tokens is left out of the mean; alone it has no shares.
  EXPECT_EQ(expert_shares(step, std::nullopt), (std::vector<double>{0.625, 0.375}));
  EXPECT_TRUE(std::isnan(expert_shares(step, 2)[0]));
}

}  // namespace
}  // namespace moe::runtime
