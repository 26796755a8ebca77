// parse_completion_request: OpenAI's defaults, prompts as text or ids, and a 400 naming the field
// for every malformed body, wrong type, unknown model, unsupported field and over-long request.
#include "serve/completion_request.h"

#include <string>

#include <gtest/gtest.h>

#include "model/presets.h"
#include "serve/api_error.h"

namespace moe::serve {
namespace {

class CompletionRequestTest : public ::testing::Test {
 protected:
  CompletionRequestTest()
      : tokenizer_(model::make_preset_model("mixtral-tiny", 1, DType::kF32).vocab), model_{"tiny", &tokenizer_, 64} {}

  // The status and param of the ApiError that `body` raises.
  std::pair<int, Json> error_of(const std::string& body) {
    try {
      parse_completion_request(body, model_);
    } catch (const ApiError& e) {
      return {e.status(), e.body()["error"]["param"]};
    }
    return {200, nullptr};
  }

  tokenizer::Tokenizer tokenizer_;
  ServedModel model_;
};

TEST_F(CompletionRequestTest, DefaultsAreOpenAIs) {
  const CompletionRequest r = parse_completion_request(R"({"prompt": "Hello"})", model_);
  EXPECT_EQ(r.params.prompt, tokenizer_.encode("Hello", tokenizer_.vocab().add_bos));
  EXPECT_EQ(r.params.max_tokens, 16);
  EXPECT_EQ(r.params.sampler.temperature, 1.0f);
  EXPECT_EQ(r.params.sampler.top_p, 1.0f);
  EXPECT_EQ(r.params.sampler.top_k, 0);
  EXPECT_TRUE(r.params.stop_at_eos);
  EXPECT_FALSE(r.stream);
}

TEST_F(CompletionRequestTest, FieldsAreRead) {
  const CompletionRequest r = parse_completion_request(
      R"({"model": "tiny", "prompt": [[3, 4, 5]], "max_tokens": 7, "temperature": 0, "top_p": 0.5, "top_k": -1,
          "seed": -1, "stop": ["a", "b"], "ignore_eos": true, "stream": true,
          "stream_options": {"include_usage": true}, "n": 1, "echo": false, "logprobs": null})",
      model_);
  EXPECT_EQ(r.params.prompt, (std::vector<int32_t>{3, 4, 5}));
  EXPECT_EQ(r.params.max_tokens, 7);
  EXPECT_EQ(r.params.sampler.temperature, 0.0f);
  EXPECT_EQ(r.params.sampler.top_p, 0.5f);
  EXPECT_EQ(r.params.sampler.top_k, 0);
  EXPECT_EQ(r.params.sampler.seed, ~uint64_t{0});
  EXPECT_EQ(r.params.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(r.params.stop_at_eos);
  EXPECT_TRUE(r.stream && r.include_usage);
}

TEST_F(CompletionRequestTest, BadBodiesName) {
  EXPECT_EQ(error_of("{"), std::make_pair(400, Json(nullptr)));
  EXPECT_EQ(error_of("[1]"), std::make_pair(400, Json(nullptr)));
  EXPECT_EQ(error_of(""), std::make_pair(400, Json(nullptr)));
  EXPECT_EQ(error_of("{}"), std::make_pair(400, Json("prompt")));
  EXPECT_EQ(error_of(R"({"prompt": 5})"), std::make_pair(400, Json("prompt")));
  EXPECT_EQ(error_of(R"({"prompt": []})"), std::make_pair(400, Json("prompt")));
  EXPECT_EQ(error_of(R"({"prompt": ""})").first, 200);  // the BOS token alone
  EXPECT_EQ(error_of(R"({"prompt": ["a", "b"]})"), std::make_pair(400, Json("prompt")));
  EXPECT_EQ(error_of(R"({"prompt": [1, 100000]})"), std::make_pair(400, Json("prompt")));
  EXPECT_EQ(error_of(R"({"prompt": [1, -1]})"), std::make_pair(400, Json("prompt")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "max_tokens": "ten"})"), std::make_pair(400, Json("max_tokens")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "max_tokens": 0})"), std::make_pair(400, Json("max_tokens")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "max_tokens": 1.5})"), std::make_pair(400, Json("max_tokens")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "max_tokens": 18446744073709551615})"),
            std::make_pair(400, Json("max_tokens")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "temperature": "hot"})"), std::make_pair(400, Json("temperature")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "temperature": -1})"), std::make_pair(400, Json("temperature")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "top_p": 0})"), std::make_pair(400, Json("top_p")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "stream": "yes"})"), std::make_pair(400, Json("stream")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "stop": 5})"), std::make_pair(400, Json("stop")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "stop": [""]})"), std::make_pair(400, Json("stop")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "stream_options": {"include_usage": true}})"),
            std::make_pair(400, Json("stream_options")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "model": "other"})"), std::make_pair(400, Json("model")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "n": 2})"), std::make_pair(400, Json("n")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "logprobs": 1})"), std::make_pair(400, Json("logprobs")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "presence_penalty": 0.5})"), std::make_pair(400, Json("presence_penalty")));
}

TEST_F(CompletionRequestTest, ContextLimitsPromptAndCompletion) {
  std::string ids = "[1";
  for (int i = 0; i < 60; ++i) ids += ", 7";
  ids += "]";
  EXPECT_EQ(error_of(R"({"prompt": )" + ids + R"(, "max_tokens": 3})").first, 200);  // 61 + 3 = 64
  EXPECT_EQ(error_of(R"({"prompt": )" + ids + R"(, "max_tokens": 4})"), std::make_pair(400, Json("prompt")));
  EXPECT_EQ(error_of(R"({"prompt": "a", "max_tokens": 1000})"), std::make_pair(400, Json("prompt")));
}

}  // namespace
}  // namespace moe::serve
