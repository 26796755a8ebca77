// Session with sampling fields: a greedy request's logprobs are the float64 PyTorch model's
// log_softmax (tests/golden/sampler_cases.json, from mixtral-tiny.json), they cover the whole
// vocabulary, and a request with penalties, bias and a seed samples the same tokens alone and
// beside another request.
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/presets.h"
#include "runtime/session.h"

namespace moe::runtime {
namespace {

// The model of tests/golden/mixtral-tiny.json.
Session open_golden_model() {
  auto model = std::make_shared<const model::Model>(model::make_preset_model("mixtral-tiny", 7, DType::kF32));
  SessionOptions options;
  options.threads = 2;
  return Session(parallel::Communicator::single(), std::move(model), options);
}

// Each request's events that carry a token, by id.
std::map<uint64_t, std::vector<Event>> run_to_end(Session& session) {
  std::map<uint64_t, std::vector<Event>> out;
  std::vector<Event> events;
  while (session.step(events))
    for (Event& event : events)
      if (event.token) out[event.id].push_back(std::move(event));
  return out;
}

TEST(SessionLogprobs, GreedyLogprobsMatchTheReference) {
  std::ifstream file(MOE_GOLDEN_DIR "/sampler_cases.json");
  const nlohmann::json golden = nlohmann::json::parse(file)["logprobs"];
  Session session = open_golden_model();
  Request request;
  request.prompt = golden["prompt_tokens"].get<std::vector<int32_t>>();
  request.n_predict = 2;
  request.sampler.temperature = 0;
  request.stop_at_eos = false;
  request.logprobs = 20;
  session.add_request(request);
  const std::vector<Event> events = run_to_end(session)[0];
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(events[0].logprobs);
  const Logprobs& first = *events[0].logprobs;
  // Logits within 1e-4 of the logit scale (tests/model/golden_test.cpp): a log-softmax within twice that.
  const double tolerance = 2e-4 * golden["logit_scale"].get<double>();
  EXPECT_EQ(*events[0].token, golden["greedy_token"].get<int32_t>());
  EXPECT_EQ(first.chosen.token, *events[0].token);
  EXPECT_NEAR(first.chosen.logprob, golden["greedy_logprob"].get<double>(), tolerance);
  const auto top_tokens = golden["top_tokens"].get<std::vector<int32_t>>();
  const auto top_logprobs = golden["top_logprobs"].get<std::vector<double>>();
  ASSERT_EQ(first.top.size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_NEAR(first.top[i].logprob, top_logprobs[i], tolerance) << "rank " << i;
    const bool near_tie = (i > 0 && top_logprobs[i - 1] - top_logprobs[i] < 2 * tolerance) ||
                          (i + 1 < 20 && top_logprobs[i] - top_logprobs[i + 1] < 2 * tolerance);
    if (!near_tie) {
      EXPECT_EQ(first.top[i].token, top_tokens[i]) << "rank " << i;
    }
  }
  EXPECT_EQ(first.top[0].token, first.chosen.token);  // greedy
  EXPECT_EQ(first.top[0].logprob, first.chosen.logprob);
  EXPECT_TRUE(events[1].logprobs && events[1].logprobs->top.size() == 20);
}

TEST(SessionLogprobs, TheWholeVocabularySumsToOne) {
  Session session = open_golden_model();
  const int64_t vocab = session.transformer().vocab_size();
  Request request;
  request.prompt = {1, 5, 9, 200};
  request.n_predict = 3;
  request.sampler.temperature = 0.8f;
  request.sampler.seed = 3;
  request.stop_at_eos = false;
  request.logprobs = vocab;
  session.add_request(request);
  const std::vector<Event> events = run_to_end(session)[0];
  ASSERT_EQ(events.size(), 3u);
  for (const Event& event : events) {
    ASSERT_TRUE(event.logprobs);
    ASSERT_EQ(static_cast<int64_t>(event.logprobs->top.size()), vocab);
    double mass = 0;
    float chosen = NAN;
    for (const TokenLogprob& entry : event.logprobs->top) {
      mass += std::exp(static_cast<double>(entry.logprob));
      if (entry.token == *event.token) chosen = entry.logprob;
    }
    EXPECT_NEAR(mass, 1.0, 1e-5);
    EXPECT_EQ(chosen, event.logprobs->chosen.logprob);
  }
}

TEST(SessionLogprobs, PenalizedSeededSamplingIsBatchInvariant) {
  Request penalized;
  penalized.id = 0;
  penalized.prompt = {1, 17, 42, 99, 256};
  penalized.n_predict = 12;
  penalized.stop_at_eos = false;
  penalized.sampler.temperature = 0.9f;
  penalized.sampler.top_k = 0;
  penalized.sampler.top_p = 0.95f;
  penalized.sampler.min_p = 0.02f;
  penalized.sampler.frequency_penalty = 0.5f;
  penalized.sampler.presence_penalty = 0.3f;
  penalized.sampler.repetition_penalty = 1.2f;
  penalized.sampler.logit_bias = {{42, 2.0f}};
  penalized.sampler.seed = 99;
  Request other = penalized;
  other.id = 1;
  other.prompt = {1, 5, 9, 200, 3, 7, 7};
  other.sampler.seed = 4;

  Session alone = open_golden_model();
  alone.add_request(penalized);
  std::vector<int32_t> want;
  for (const Event& event : std::vector<Event>(run_to_end(alone)[0])) want.push_back(*event.token);

  Session together = open_golden_model();
  together.add_request(other);
  together.add_request(penalized);
  std::vector<int32_t> got;
  for (const Event& event : std::vector<Event>(run_to_end(together)[0])) got.push_back(*event.token);
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), 12u);
}

}  // namespace
}  // namespace moe::runtime
