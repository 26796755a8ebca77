// Session over a paged KV pool: a pool too small for its requests preempts and recomputes them and
// they produce the tokens of a pool that holds them all (sampled, so the sampler's state carries
// over too); a prompt that starts with cached full blocks reuses them, counts the hits and gives
// the tokens of a session without a cache; admission and the pool's limits.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "model/presets.h"
#include "runtime/session.h"

namespace moe::runtime {
namespace {

std::shared_ptr<const model::Model> tiny() {
  return std::make_shared<const model::Model>(model::make_preset_model("mixtral-tiny", 7, DType::kF32));
}

Session open(std::shared_ptr<const model::Model> model, std::optional<int64_t> kv_blocks, bool prefix_cache) {
  SessionOptions options;
  options.threads = 2;
  options.kv_blocks = kv_blocks;
  options.prefix_cache = prefix_cache;
  return Session(parallel::Communicator::single(), std::move(model), options);
}

std::vector<int32_t> text(int64_t n, int32_t salt) {
  std::vector<int32_t> tokens;
  for (int64_t i = 0; i < n; ++i) tokens.push_back(static_cast<int32_t>(1 + (i * 37 + salt * 101) % 500));
  return tokens;
}

Request sampled(uint64_t id, std::vector<int32_t> prompt, int64_t n_predict) {
  Request request;
  request.id = id;
  request.prompt = std::move(prompt);
  request.n_predict = n_predict;
  request.sampler.temperature = 1;
  request.sampler.seed = 100 + id;
  request.stop_at_eos = false;
  return request;
}

std::map<uint64_t, std::vector<int32_t>> run_to_end(Session& session) {
  std::map<uint64_t, std::vector<int32_t>> done;
  std::vector<Event> events;
  while (session.step(events))
    for (Event& event : events)
      if (event.completion) done[event.id] = event.completion->tokens;
  return done;
}

// Three requests of 50, 60 and 40 prompt tokens, each generating past its first block.
std::map<uint64_t, std::vector<int32_t>> three_requests(Session& session) {
  session.add_request(sampled(0, text(50, 0), 30));
  session.add_request(sampled(1, text(60, 1), 20));
  session.add_request(sampled(2, text(40, 2), 40));
  return run_to_end(session);
}

TEST(SessionPaged, ATinyPoolPreemptsAndGivesTheTokensOfALargeOne) {
  const std::shared_ptr<const model::Model> model = tiny();
  Session large = open(model, std::nullopt, false);
  const std::map<uint64_t, std::vector<int32_t>> want = three_requests(large);
  EXPECT_EQ(large.kv_stats().preemptions, 0);
  ASSERT_EQ(want.size(), 3u);
  for (bool prefix_cache : {false, true}) {
    // All three prompts start in one block each; the fourth block one of them needs while
    // decoding is not there, so the latest is preempted, and recomputed when blocks come free.
    Session small = open(model, 3, prefix_cache);
    EXPECT_EQ(three_requests(small), want) << "prefix cache " << prefix_cache;
    const KvCacheStats stats = small.kv_stats();
    EXPECT_GT(stats.preemptions, 0) << "prefix cache " << prefix_cache;
    EXPECT_EQ(stats.blocks, 3);
    EXPECT_EQ(stats.blocks_used, 0);  // all released
  }
}

TEST(SessionPaged, ACachedPrefixIsReusedAndGivesTheSameTokens) {
  const std::shared_ptr<const model::Model> model = tiny();
  std::vector<int32_t> first = text(150, 3), second(first.begin(), first.begin() + 140);
  second.push_back(7);  // 141 tokens: two full blocks shared, the rest differs from `first`
  second.push_back(9);
  Session fresh = open(model, 8, true);
  fresh.add_request(sampled(1, second, 12));
  const std::vector<int32_t> want = run_to_end(fresh).at(1);
  EXPECT_EQ(fresh.kv_stats().prefix_hits, 0);
  EXPECT_EQ(fresh.kv_stats().prefix_queries, 142);

  Session session = open(model, 8, true);
  session.add_request(sampled(0, first, 4));
  run_to_end(session);
  session.add_request(sampled(1, second, 12));
  EXPECT_EQ(run_to_end(session).at(1), want);
  EXPECT_EQ(session.kv_stats().prefix_hits, 128);
  EXPECT_EQ(session.kv_stats().prefix_queries, 150 + 142);

  // A prompt of exactly two blocks computes its last token again: one block is reused.
  Session exact = open(model, 8, true);
  const std::vector<int32_t> two_blocks(first.begin(), first.begin() + 128);
  exact.add_request(sampled(2, two_blocks, 3));
  const std::vector<int32_t> once = run_to_end(exact).at(2);
  exact.add_request(sampled(2, two_blocks, 3));
  EXPECT_EQ(run_to_end(exact).at(2), once);
  EXPECT_EQ(exact.kv_stats().prefix_hits, 64);

  Session off = open(model, 8, false);
  off.add_request(sampled(0, first, 4));
  run_to_end(off);
  off.add_request(sampled(1, second, 12));
  EXPECT_EQ(run_to_end(off).at(1), want);
  EXPECT_EQ(off.kv_stats().prefix_queries, 0);
  EXPECT_EQ(off.kv_stats().prefix_hits, 0);
}

TEST(SessionPaged, AdmissionFollowsTheFreeBlocks) {
  Session session = open(tiny(), 3, false);
  EXPECT_EQ(session.max_request_positions(), 192);
  EXPECT_TRUE(session.can_admit(192));
  session.add_request(sampled(0, text(100, 4), 2));  // two blocks to prefill
  EXPECT_TRUE(session.can_admit(64));
  EXPECT_FALSE(session.can_admit(65));
  EXPECT_EQ(session.next_step_tokens(), 100);
  std::vector<Event> events;
  ASSERT_TRUE(session.step(events));
  EXPECT_EQ(session.kv_stats().blocks_used, 2);
  EXPECT_EQ(session.next_step_tokens(), 1);
  EXPECT_TRUE(session.can_admit(64));
  try {
    session.add_request(sampled(1, text(150, 5), 43));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "request 1: 193 positions (prompt and n_predict) do not fit the KV pool of 3 blocks of 64 positions");
  }
  Session grows = open(tiny(), std::nullopt, true);
  EXPECT_EQ(grows.max_request_positions(), std::nullopt);
  EXPECT_TRUE(grows.can_admit(100000));
}

TEST(SessionPaged, PoolSizeOptionsAreChecked) {
  const std::shared_ptr<const model::Model> model = tiny();
  auto message = [&](std::optional<int64_t> blocks, std::optional<double> gib) {
    SessionOptions options;
    options.threads = 1;
    options.kv_blocks = blocks;
    options.kv_cache_gib = gib;
    try {
      Session session(parallel::Communicator::single(), model, options);
      return std::to_string(session.kv_stats().blocks);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
  };
  EXPECT_EQ(message(0, std::nullopt), "--kv-blocks: must be >= 1, got 0");
  EXPECT_EQ(message(2, 1.0), "--kv-blocks and --kv-cache-gib exclude each other");
  // mixtral-tiny: 4 layers x keys and values x 64 positions x 4 KV heads x 32 floats = 256 KiB.
  EXPECT_EQ(message(std::nullopt, 1.0 / 1024), "4");
  EXPECT_EQ(message(std::nullopt, 1e-7).find("--kv-cache-gib: 1e-07 GiB holds no KV block (262144 bytes each"), 0u);
}

}  // namespace
}  // namespace moe::runtime
