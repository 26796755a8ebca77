// Scheduler: a seeded request's text does not depend on what shares its batch or on prompt
// chunking, a full queue refuses at once, a cancelled request leaves and is counted, a closed
// scheduler refuses new requests, and a KV pool too small for its requests keeps them waiting or
// preempts them without changing their text (a request over the whole pool is a 400).
#include "serve/scheduler.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/presets.h"
#include "serve/api_error.h"

namespace moe::serve {
namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : model_(std::make_shared<const model::Model>(model::make_preset_model("mixtral-tiny", 1, DType::kF32))),
        session_(parallel::Communicator::single(), model_, two_threads()) {}

  static runtime::SessionOptions two_threads() {
    runtime::SessionOptions options;
    options.threads = 2;
    return options;
  }

  GenerationParams params(const std::string& prompt, uint64_t seed, int64_t max_tokens) {
    GenerationParams p;
    p.prompt = session_.tokenizer().encode(prompt, true);
    p.max_tokens = max_tokens;
    p.sampler = {.temperature = 0.9f, .top_k = 0, .top_p = 0.95f, .seed = seed};
    p.stop_at_eos = false;
    return p;
  }

  // The whole text of a generation, once it finished.
  static std::string text_of(Generation& generation) {
    std::string text;
    for (;;) {
      const GenerationUpdate update = generation.take(std::chrono::seconds(1));
      EXPECT_FALSE(update.error) << *update.error;
      text += update.text;
      if (update.done()) return text;
    }
  }

  std::shared_ptr<const model::Model> model_;
  runtime::Session session_;
};

TEST_F(SchedulerTest, SeededTextDoesNotDependOnTheBatch) {
  std::string alone;
  {
    Scheduler scheduler(session_, {.max_num_seqs = 1, .max_num_tokens = 512, .max_queued = 8});
    alone = text_of(*scheduler.submit(params("Once upon a time", 1234, 20)));
  }
  // Four places and 9 tokens a step: the prompts are prefilled in chunks beside others' decoding.
  Scheduler scheduler(session_, {.max_num_seqs = 4, .max_num_tokens = 9, .max_queued = 16});
  std::vector<std::shared_ptr<Generation>> others;
  for (int i = 0; i < 3; ++i)
    others.push_back(scheduler.submit(params("Story " + std::to_string(i) + " goes like this", i, 5 + 7 * i)));
  const std::shared_ptr<Generation> seeded = scheduler.submit(params("Once upon a time", 1234, 20));
  for (int i = 3; i < 6; ++i) others.push_back(scheduler.submit(params("More " + std::to_string(i), i, 9)));
  EXPECT_EQ(text_of(*seeded), alone);
  for (const auto& other : others) text_of(*other);
  scheduler.drain();
  const Metrics metrics = scheduler.metrics();
  EXPECT_EQ(metrics.finished_length, 7);
  EXPECT_EQ(metrics.generation_tokens, 20 + 5 + 12 + 19 + 3 * 9);
  EXPECT_EQ(metrics.running + metrics.waiting + metrics.cancelled + metrics.failed, 0);
}

TEST_F(SchedulerTest, FullQueueRefusesAtOnceAndCancelledRequestsLeave) {
  Scheduler scheduler(session_, {.max_num_seqs = 1, .max_num_tokens = 64, .max_queued = 1});
  const std::shared_ptr<Generation> running = scheduler.submit(params("a", 1, 3000));
  while (running->take(std::chrono::seconds(1)).text.empty()) {
  }
  const std::shared_ptr<Generation> waiting = scheduler.submit(params("b", 2, 4));
  EXPECT_THROW(scheduler.submit(params("c", 3, 4)), Overloaded);
  waiting->cancel();  // first, so that it is never admitted in the place `running` leaves
  running->cancel();
  scheduler.drain();  // returns at once: nothing is left to run
  EXPECT_EQ(scheduler.metrics().cancelled, 2);
  EXPECT_THROW(scheduler.submit(params("d", 4, 4)), Overloaded);  // closed
}

TEST(SchedulerPool, ATinyPoolServesEveryRequestWithItsTextAndRefusesOneOverIt) {
  const auto model = std::make_shared<const model::Model>(model::make_preset_model("mixtral-tiny", 1, DType::kF32));
  runtime::SessionOptions options;
  options.threads = 2;
  options.kv_blocks = 2;
  runtime::Session session(parallel::Communicator::single(), model, options);
  auto params = [&](uint64_t seed, int64_t max_tokens) {
    GenerationParams p;
    p.prompt = session.tokenizer().encode("Once upon a time", true);
    p.max_tokens = max_tokens;
    p.sampler = {.temperature = 0.9f, .top_k = 0, .top_p = 0.95f, .seed = seed};
    p.stop_at_eos = false;
    return p;
  };
  auto text_of = [](Generation& generation) {
    std::string text;
    for (;;) {
      const GenerationUpdate update = generation.take(std::chrono::seconds(1));
      EXPECT_FALSE(update.error) << *update.error;
      text += update.text;
      if (update.done()) return text;
    }
  };
  Scheduler scheduler(session, {.max_num_seqs = 4, .max_num_tokens = 512, .max_queued = 8});
  const int64_t n_prompt = static_cast<int64_t>(params(0, 1).prompt.size());
  try {
    scheduler.submit(params(1, 129 - n_prompt));  // 129 positions: 3 blocks of 64
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
  }
  // Each request needs both blocks before it ends (80 positions): one of two started is preempted.
  const int64_t max_tokens = 80 - n_prompt;
  std::vector<std::string> alone;
  for (uint64_t seed : {1, 2, 3}) alone.push_back(text_of(*scheduler.submit(params(seed, max_tokens))));
  std::vector<std::shared_ptr<Generation>> together;
  for (uint64_t seed : {1, 2, 3}) together.push_back(scheduler.submit(params(seed, max_tokens)));
  for (size_t i = 0; i < together.size(); ++i) EXPECT_EQ(text_of(*together[i]), alone[i]) << "request " << i;
  scheduler.drain();
  const Metrics metrics = scheduler.metrics();
  EXPECT_EQ(metrics.kv_blocks, 2);
  EXPECT_EQ(metrics.kv_blocks_used, 0);
  EXPECT_GT(metrics.preemptions, 0);
  EXPECT_EQ(metrics.finished_length, 6);
}

}  // namespace
}  // namespace moe::serve
