// The logprobs objects on mixtral-tiny's vocabulary (byte tokens <0x00>.. at ids 3..258, so
// "é" = C3 A9 is ids 198, 172): the legacy completion shape with its code-point text offsets
// continued across calls and the chosen token added to top_logprobs, and the chat shape with
// each token's raw bytes.
#include "serve/logprobs_json.h"

#include <gtest/gtest.h>

#include "model/presets.h"

namespace moe::serve {
namespace {

class LogprobsJsonTest : public ::testing::Test {
 protected:
  LogprobsJsonTest() : tokenizer_(model::make_preset_model("mixtral-tiny", 1, DType::kF32).vocab) {}
  tokenizer::Tokenizer tokenizer_;
};

// "H", "e", "ll", then the two bytes of "é", then "o".
const std::vector<runtime::Logprobs> kEntries = {
    {{75, -0.5f}, {{75, -0.5f}, {469, -1.25f}}},
    {{469, -0.25f}, {{469, -0.25f}}},
    {{286, -2.0f}, {{471, -0.125f}, {75, -1.5f}}},                // chosen outside the top 2
    {{198, -0.75f}, {{172, -0.5f}, {198, -0.75f}, {75, -2.5f}}},  // both bytes read U+FFFD
    {{172, -0.0625f}, {}},
    {{471, -1.0f}, {}},
};

TEST_F(LogprobsJsonTest, CompletionShape) {
  int64_t offset = 0;
  const Json first = completion_logprobs_json(std::span(kEntries).first(3), tokenizer_, offset);
  EXPECT_EQ(first["tokens"], Json::array({"H", "e", "ll"}));
  EXPECT_EQ(first["token_logprobs"], Json::array({-0.5, -0.25, -2.0}));
  EXPECT_EQ(first["top_logprobs"][0], Json::parse(R"({"H": -0.5, "e": -1.25})"));
  EXPECT_EQ(first["top_logprobs"][1], Json::parse(R"({"e": -0.25})"));
  EXPECT_EQ(first["top_logprobs"][2], Json::parse(R"({"o": -0.125, "H": -1.5, "ll": -2.0})"));
  EXPECT_EQ(first["text_offset"], Json::array({0, 1, 2}));
  EXPECT_EQ(offset, 4);
  const Json rest = completion_logprobs_json(std::span(kEntries).last(3), tokenizer_, offset);
  EXPECT_EQ(rest["tokens"], Json::array({"\xEF\xBF\xBD", "\xEF\xBF\xBD", "o"}));       // a lone byte is U+FFFD
  EXPECT_EQ(rest["top_logprobs"][0], Json::parse(R"({"\ufffd": -0.75, "H": -2.5})"));  // the chosen one's value
  EXPECT_EQ(rest["top_logprobs"][1], Json::parse(R"({"\ufffd": -0.0625})"));
  EXPECT_EQ(rest["text_offset"], Json::array({4, 5, 6}));
  EXPECT_EQ(offset, 7);
  EXPECT_EQ(dump_json(completion_logprobs_json({}, tokenizer_, offset)),
            R"({"tokens":[],"token_logprobs":[],"top_logprobs":[],"text_offset":[]})");
}

TEST_F(LogprobsJsonTest, ChatShape) {
  const Json chat = chat_logprobs_json(kEntries, tokenizer_);
  ASSERT_EQ(chat["content"].size(), 6u);
  EXPECT_EQ(chat["content"][0], Json::parse(R"({"token": "H", "logprob": -0.5, "bytes": [72], "top_logprobs": [
      {"token": "H", "logprob": -0.5, "bytes": [72]}, {"token": "e", "logprob": -1.25, "bytes": [101]}]})"));
  EXPECT_EQ(chat["content"][2]["top_logprobs"].size(), 2u);  // the top N only, as OpenAI's
  EXPECT_EQ(chat["content"][3]["token"], "\xEF\xBF\xBD");
  EXPECT_EQ(chat["content"][3]["bytes"], Json::array({195}));
  EXPECT_EQ(chat["content"][3]["top_logprobs"][0],
            Json::parse(R"({"token": "\ufffd", "logprob": -0.5, "bytes": [169]})"));
  EXPECT_EQ(chat["content"][3]["top_logprobs"].size(), 3u);
  EXPECT_EQ(chat["content"][4]["bytes"], Json::array({169}));
}

}  // namespace
}  // namespace moe::serve
