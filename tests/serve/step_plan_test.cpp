// StepPlan and the request/event codec under it: what rank 0 sends comes back field for field,
// and bytes that are short, long or foreign are FormatErrors naming their source, never a crash.
#include "serve/step_plan.h"

#include <gtest/gtest.h>

#include "runtime/request_codec.h"

namespace moe::serve {
namespace {

runtime::Request sample_request() {
  runtime::Request request;
  request.id = 41;
  request.prompt = {1, 5, 9, 300};
  request.n_predict = 17;
  request.sampler.temperature = 0.7f;
  request.sampler.top_k = 12;
  request.sampler.top_p = 0.85f;
  request.sampler.seed = 123456789012345ull;
  request.sampler.min_p = 0.05f;
  request.sampler.presence_penalty = 0.5f;
  request.sampler.frequency_penalty = -0.25f;
  request.sampler.repetition_penalty = 1.1f;
  request.sampler.logit_bias = {{3, -100.0f}, {8, 2.5f}};
  request.logprobs = 4;
  request.stop_at_eos = false;
  request.prefill_chunk = 3;
  request.score_from = 2;
  return request;
}

TEST(StepPlan, RoundTripsEveryField) {
  StepPlan plan;
  plan.admitted.push_back({1, sample_request()});
  plan.admitted.push_back({0, runtime::Request{.id = 42, .prompt = {7}}});
  plan.cancelled = {3, 40};
  plan.step = true;
  plan.collect_figures = true;
  const StepPlan back = decode_step_plan(encode(plan), "test");
  ASSERT_EQ(back.admitted.size(), 2u);
  EXPECT_TRUE(back.step);
  EXPECT_FALSE(back.stop);
  EXPECT_TRUE(back.collect_figures);
  EXPECT_EQ(back.cancelled, plan.cancelled);
  const runtime::Request& r = back.admitted[0].request;
  const runtime::Request& want = plan.admitted[0].request;
  EXPECT_EQ(back.admitted[0].slot, 1);
  EXPECT_EQ(r.id, want.id);
  EXPECT_EQ(r.prompt, want.prompt);
  EXPECT_EQ(r.n_predict, want.n_predict);
  EXPECT_EQ(r.sampler.temperature, want.sampler.temperature);
  EXPECT_EQ(r.sampler.top_k, want.sampler.top_k);
  EXPECT_EQ(r.sampler.top_p, want.sampler.top_p);
  EXPECT_EQ(r.sampler.seed, want.sampler.seed);
  EXPECT_EQ(r.sampler.min_p, want.sampler.min_p);
  EXPECT_EQ(r.sampler.presence_penalty, want.sampler.presence_penalty);
  EXPECT_EQ(r.sampler.frequency_penalty, want.sampler.frequency_penalty);
  EXPECT_EQ(r.sampler.repetition_penalty, want.sampler.repetition_penalty);
  EXPECT_EQ(r.sampler.logit_bias, want.sampler.logit_bias);
  EXPECT_EQ(r.logprobs, want.logprobs);
  EXPECT_EQ(r.stop_at_eos, want.stop_at_eos);
  EXPECT_EQ(r.prefill_chunk, want.prefill_chunk);
  EXPECT_EQ(r.score_from, want.score_from);
  EXPECT_EQ(back.admitted[1].request.prompt, std::vector<int32_t>{7});
  EXPECT_FALSE(back.admitted[1].request.score_from.has_value());
}

TEST(StepPlan, BadBytesAreFormatErrors) {
  StepPlan plan;
  plan.admitted.push_back({0, sample_request()});
  plan.cancelled = {9};
  const std::vector<std::byte> bytes = encode(plan);
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(decode_step_plan(std::span(bytes).first(n), "plan"), FormatError) << n << " bytes";
  std::vector<std::byte> longer = bytes;
  longer.push_back(std::byte{0});
  EXPECT_THROW(decode_step_plan(longer, "plan"), FormatError);
  std::vector<std::byte> flags = bytes;
  flags[0] = std::byte{8};
  EXPECT_THROW(decode_step_plan(flags, "plan"), FormatError);
  // A count of 2^60 tokens over a few bytes is refused before anything is allocated.
  std::vector<std::byte> huge;
  io::append<uint64_t>(huge, uint64_t{1} << 60);
  io::ByteReader in(huge.data(), static_cast<int64_t>(huge.size()), "tokens");
  EXPECT_THROW(runtime::read_tokens(in), FormatError);
}

TEST(RequestCodec, EventsRoundTripWithTheirCompletion) {
  runtime::Event event;
  event.id = 5;
  event.token = 77;
  event.piece = "caf\xc3\xa9";
  event.nll = {0.25, 1.5};
  event.logprobs = runtime::Logprobs{{77, -0.5f}, {{77, -0.5f}, {12, -1.25f}}};
  event.completion = runtime::Completion{5, {1, 2}, {77}, runtime::FinishReason::kEos};
  std::vector<std::byte> bytes;
  runtime::append_event(bytes, event);
  runtime::append_event(bytes, runtime::Event{.id = 6});
  io::ByteReader in(bytes.data(), static_cast<int64_t>(bytes.size()), "events");
  const runtime::Event a = runtime::read_event(in);
  const runtime::Event b = runtime::read_event(in);
  EXPECT_EQ(in.remaining(), 0);
  EXPECT_EQ(a.id, 5u);
  EXPECT_EQ(a.token, 77);
  EXPECT_EQ(a.piece, event.piece);
  EXPECT_EQ(a.nll, event.nll);
  ASSERT_TRUE(a.logprobs.has_value());
  EXPECT_EQ(a.logprobs->chosen.token, 77);
  EXPECT_EQ(a.logprobs->chosen.logprob, -0.5f);
  ASSERT_EQ(a.logprobs->top.size(), 2u);
  EXPECT_EQ(a.logprobs->top[1].token, 12);
  EXPECT_EQ(a.logprobs->top[1].logprob, -1.25f);
  EXPECT_FALSE(b.logprobs.has_value());
  ASSERT_TRUE(a.completion.has_value());
  EXPECT_EQ(a.completion->prompt, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(a.completion->tokens, std::vector<int32_t>{77});
  EXPECT_EQ(a.completion->reason, runtime::FinishReason::kEos);
  EXPECT_EQ(b.id, 6u);
  EXPECT_FALSE(b.token.has_value());
  EXPECT_FALSE(b.completion.has_value());
}

}  // namespace
}  // namespace moe::serve
