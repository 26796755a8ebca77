// Session: requests join and leave between steps without changing a token (greedy decoding and the
// kernels are batch invariant, so a request decodes the same bits alone, beside others, or joining
// while others decode), the tokens are the Transformer's own greedy tokens, chunked scoring equals
// one pass, finished and cancelled requests leave, completions gather by id, and bad requests get
// one-line errors.
#include "runtime/session.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "model/presets.h"

namespace moe::runtime {
namespace {

std::shared_ptr<const model::Model> tiny(int32_t eos_id = -1) {
  model::Model model = model::make_preset_model("mixtral-tiny", 7, DType::kF32);
  if (eos_id >= 0) model.vocab.eos_id = eos_id;
  return std::make_shared<const model::Model>(std::move(model));
}

Session open(std::shared_ptr<const model::Model> model) {
  SessionOptions options;
  options.threads = 2;
  return Session(parallel::Communicator::single(), std::move(model), options);
}

Request greedy(uint64_t id, std::vector<int32_t> prompt, int64_t n_predict) {
  Request request;
  request.id = id;
  request.prompt = std::move(prompt);
  request.n_predict = n_predict;
  request.sampler.temperature = 0;
  request.stop_at_eos = false;
  return request;
}

const std::vector<int32_t> kPromptA = {1, 17, 42, 99, 256, 311, 7, 128, 400, 63};
const std::vector<int32_t> kPromptB = {1, 5, 9, 200, 3};

// Steps until every request finished; the completions by id.
std::map<uint64_t, Completion> run_to_end(Session& session) {
  std::map<uint64_t, Completion> done;
  std::vector<Event> events;
  while (session.step(events))
    for (Event& event : events)
      if (event.completion) done[event.id] = std::move(*event.completion);
  return done;
}

std::vector<int32_t> alone(std::shared_ptr<const model::Model> model, const std::vector<int32_t>& prompt,
                           int64_t n_predict) {
  Session session = open(std::move(model));
  session.add_request(greedy(0, prompt, n_predict));
  return run_to_end(session).at(0).tokens;
}

TEST(Session, GreedyTokensAreTheTransformersArgmax) {
  const std::shared_ptr<const model::Model> model = tiny();
  ThreadPool pool(1);
  model::Transformer transformer(*model, pool);
  model::KvCache cache = transformer.make_cache(20);
  std::vector<float> logits;
  transformer.forward(kPromptA, cache, logits, false);
  std::vector<int32_t> want;
  for (int step = 0; step < 6; ++step) {
    want.push_back(argmax(logits));
    transformer.forward(std::span<const int32_t>(&want.back(), 1), cache, logits, false);
  }
  EXPECT_EQ(alone(model, kPromptA, 6), want);
}

TEST(Session, RequestJoiningBetweenStepsDecodesAsAlone) {
  const std::shared_ptr<const model::Model> model = tiny();
  const std::vector<int32_t> want_a = alone(model, kPromptA, 8), want_b = alone(model, kPromptB, 5);
  Session session = open(model);
  session.add_request(greedy(0, kPromptA, 8));
  std::vector<Event> events;
  ASSERT_TRUE(session.step(events));  // A's prompt
  ASSERT_TRUE(session.step(events));  // A decodes
  session.add_request(greedy(1, kPromptB, 5));
  ASSERT_TRUE(session.step(events));  // B's prompt beside A's decode step, in one forward pass
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, 0u);
  EXPECT_EQ(events[1].id, 1u);
  EXPECT_TRUE(events[0].token && events[1].token);
  EXPECT_EQ(*events[0].token, want_a[2]);
  EXPECT_EQ(*events[1].token, want_b[0]);
  EXPECT_EQ(events[1].piece, session.tokenizer().token_bytes(want_b[0]));
  std::map<uint64_t, Completion> done = run_to_end(session);
  EXPECT_EQ(done.at(0).tokens, want_a);
  EXPECT_EQ(done.at(1).tokens, want_b);
  EXPECT_EQ(done.at(1).prompt, kPromptB);
  EXPECT_EQ(done.at(1).reason, FinishReason::kLength);
}

TEST(Session, FinishedRequestsLeave) {
  const std::shared_ptr<const model::Model> model = tiny();
  Session session = open(model);
  std::vector<Event> events;
  EXPECT_FALSE(session.step(events));  // nothing to run
  session.add_request(greedy(0, kPromptA, 2));
  session.add_request(greedy(1, kPromptB, 4));
  session.add_request(greedy(2, kPromptB, 0));  // the prompt only
  ASSERT_TRUE(session.step(events));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_FALSE(events[2].token);
  ASSERT_TRUE(events[2].completion);
  EXPECT_TRUE(events[2].completion->tokens.empty());
  EXPECT_EQ(session.n_active(), 2u);
  ASSERT_TRUE(session.step(events));
  ASSERT_TRUE(events[0].completion);
  EXPECT_EQ(events[0].completion->tokens.size(), 2u);
  EXPECT_EQ(session.n_active(), 1u);
  ASSERT_TRUE(session.step(events));
  ASSERT_TRUE(session.step(events));
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].completion);
  EXPECT_EQ(events[0].completion->tokens, alone(model, kPromptB, 4));
  EXPECT_EQ(session.n_active(), 0u);
  EXPECT_FALSE(session.step(events));
}

TEST(Session, CancelledRequestLeavesAndOthersDecodeAsAlone) {
  const std::shared_ptr<const model::Model> model = tiny();
  Session session = open(model);
  session.add_request(greedy(0, kPromptA, 8));
  session.add_request(greedy(1, kPromptB, 6));
  std::vector<Event> events;
  ASSERT_TRUE(session.step(events));
  ASSERT_TRUE(session.step(events));
  EXPECT_TRUE(session.cancel(0));
  EXPECT_FALSE(session.cancel(0));   // already gone
  EXPECT_FALSE(session.cancel(42));  // never added
  EXPECT_EQ(session.n_active(), 1u);
  std::map<uint64_t, Completion> done = run_to_end(session);
  EXPECT_EQ(done.count(0), 0u);
  EXPECT_EQ(done.at(1).tokens, alone(model, kPromptB, 6));
  session.add_request(greedy(0, kPromptA, 3));  // the id is free again
  EXPECT_EQ(run_to_end(session).at(0).tokens, alone(model, kPromptA, 3));
}

TEST(Session, EndOfSequenceEndsARequest) {
  const std::vector<int32_t> tokens = alone(tiny(), kPromptA, 8);
  size_t first_repeat = 1;  // the first token not seen before it: the model's EOS in this test
  while (std::find(tokens.begin(), tokens.begin() + first_repeat, tokens[first_repeat]) !=
         tokens.begin() + first_repeat)
    ++first_repeat;
  ASSERT_LT(first_repeat, tokens.size());
  Session session = open(tiny(tokens[first_repeat]));
  Request request = greedy(0, kPromptA, 8);
  request.stop_at_eos = true;
  session.add_request(request);
  const Completion done = run_to_end(session).at(0);
  EXPECT_EQ(done.reason, FinishReason::kEos);
  EXPECT_EQ(done.tokens, std::vector<int32_t>(tokens.begin(), tokens.begin() + first_repeat + 1));
}

TEST(Session, ChunkedScoringBesideDecodingEqualsOnePass) {
  std::vector<int32_t> text;
  for (int32_t i = 0; i < 40; ++i) text.push_back(1 + (i * 37) % 500);
  const std::shared_ptr<const model::Model> model = tiny();
  auto score = [&](int64_t chunk, bool with_decoding) {
    Session session = open(model);
    if (with_decoding) session.add_request(greedy(7, kPromptB, 20));
    Request request;
    request.prompt = text;
    request.prefill_chunk = chunk;
    request.score_from = 20;
    session.add_request(request);
    std::vector<double> nll;
    std::vector<Event> events;
    while (session.step(events))
      for (const Event& event : events) nll.insert(nll.end(), event.nll.begin(), event.nll.end());
    return nll;
  };
  const std::vector<double> whole = score(0, false);
  ASSERT_EQ(whole.size(), 19u);  // positions 20 .. 38 predict tokens 21 .. 39
  for (double nll : whole) EXPECT_GT(nll, 0);
  EXPECT_EQ(score(8, false), whole);
  EXPECT_EQ(score(7, true), whole);
}

TEST(Session, CompletionsGatherById) {
  parallel::Communicator world = parallel::Communicator::single();
  const std::vector<Completion> mine = {{3, {1}, {2}, FinishReason::kLength}, {1, {1, 4}, {5}, FinishReason::kEos}};
  const std::vector<Completion> all = gather_completions(world, mine);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, 1u);
  EXPECT_EQ(all[0].prompt, (std::vector<int32_t>{1, 4}));
  EXPECT_EQ(all[1].id, 3u);
}

TEST(Session, BadRequestsAreUsageErrors) {
  Session session = open(tiny());
  auto message = [&](const Request& request) {
    try {
      session.add_request(request);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message(greedy(3, {}, 1)), "request 3: the prompt is empty and the model adds no BOS token");
  EXPECT_EQ(message(greedy(4, {1}, -1)), "request 4: n_predict must be >= 0, got -1");
  Request hot = greedy(5, {1}, 1);
  hot.sampler.temperature = 1;
  hot.sampler.top_p = 2;
  EXPECT_NE(message(hot).find("--top-p"), std::string::npos);
  EXPECT_EQ(message(greedy(6, {1}, 1)), "");
  EXPECT_EQ(message(greedy(6, {1}, 1)), "request 6 is already in the session");
}

}  // namespace
}  // namespace moe::runtime
