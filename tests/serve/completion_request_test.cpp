// parse_completion_request: OpenAI's defaults, prompts as text or ids, the sampling fields (min_p,
// penalties, logit_bias, logprobs, n, echo, max_completion_tokens), and a 400 naming the field for
// every malformed body, wrong type or range, unknown model, unsupported field and over-long request.
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
      : tokenizer_(model::make_preset_model("mixtral-tiny", 1, DType::kF32).vocab),
        model_{"tiny", &tokenizer_, 64, 4} {}

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
}

TEST_F(CompletionRequestTest, SamplingFieldsAreRead) {
  const CompletionRequest r = parse_completion_request(
      R"({"prompt": "a", "min_p": 0.05, "presence_penalty": -1.5, "frequency_penalty": 2,
          "repetition_penalty": 1.1, "logit_bias": {"7": 5, "300": -100}, "logprobs": 3, "n": 3, "best_of": 3,
          "max_completion_tokens": 9, "seed": 42})",
      model_);
  const runtime::SamplerOptions& s = r.params.sampler;
  EXPECT_EQ(s.min_p, 0.05f);
  EXPECT_EQ(s.presence_penalty, -1.5f);
  EXPECT_EQ(s.frequency_penalty, 2.0f);
  EXPECT_EQ(s.repetition_penalty, 1.1f);
  EXPECT_EQ(s.logit_bias, (std::vector<std::pair<int32_t, float>>{{300, -100.0f}, {7, 5.0f}}));  // keys as sorted
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(r.params.logprobs, 3);
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(r.params.max_tokens, 9);
  EXPECT_FALSE(r.echo);

  const CompletionRequest neutral = parse_completion_request(
      R"({"prompt": "a", "min_p": 0, "presence_penalty": 0, "frequency_penalty": 0, "logit_bias": {}, "n": 1,
          "max_tokens": 5, "max_completion_tokens": 5, "echo": true})",
      model_);
  EXPECT_EQ(neutral.params.sampler.min_p, 0.0f);
  EXPECT_EQ(neutral.params.sampler.repetition_penalty, 1.0f);
  EXPECT_TRUE(neutral.params.sampler.logit_bias.empty());
  EXPECT_EQ(neutral.params.logprobs, std::nullopt);
  EXPECT_EQ(parse_completion_request(R"({"prompt": "a", "logprobs": 0})", model_).params.logprobs, 0);
  EXPECT_EQ(neutral.params.max_tokens, 5);
  EXPECT_EQ(neutral.echo, "a");
  EXPECT_EQ(parse_completion_request(R"({"prompt": [3, 4], "echo": true})", model_).echo,
            tokenizer_.decode(std::vector<int32_t>{3, 4}));
}

TEST_F(CompletionRequestTest, BadSamplingFieldsName) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"("min_p": 1.5)", "min_p"},
      {R"("min_p": "low")", "min_p"},
      {R"("presence_penalty": 2.5)", "presence_penalty"},
      {R"("presence_penalty": true)", "presence_penalty"},
      {R"("frequency_penalty": -3)", "frequency_penalty"},
      {R"("repetition_penalty": 0)", "repetition_penalty"},
      {R"("repetition_penalty": -1)", "repetition_penalty"},
      {R"("logit_bias": [1, 2])", "logit_bias"},
      {R"("logit_bias": {"x": 1})", "logit_bias"},
      {R"("logit_bias": {"7a": 1})", "logit_bias"},
      {R"("logit_bias": {"-1": 1})", "logit_bias"},
      {R"("logit_bias": {"100000": 1})", "logit_bias"},
      {R"("logit_bias": {"7": 101})", "logit_bias"},
      {R"("logit_bias": {"7": "up"})", "logit_bias"},
      {R"("logprobs": 21)", "logprobs"},
      {R"("logprobs": -1)", "logprobs"},
      {R"("logprobs": true)", "logprobs"},
      {R"("n": 0)", "n"},
      {R"("n": 5)", "n"},  // over max_n
      {R"("n": 1.5)", "n"},
      {R"("n": 2, "best_of": 3)", "best_of"},
      {R"("best_of": 2)", "best_of"},
      {R"("echo": "yes")", "echo"},
      {R"("echo": true, "logprobs": 1)", "echo"},
      {R"("suffix": "end")", "suffix"},
      {R"("max_completion_tokens": 0)", "max_completion_tokens"},
      {R"("max_completion_tokens": "9")", "max_completion_tokens"},
      {R"("max_tokens": 4, "max_completion_tokens": 5)", "max_completion_tokens"},
      {R"("max_completion_tokens": 1000)", "prompt"},  // over the context
  };
  for (const auto& [fields, param] : bad)
    EXPECT_EQ(error_of(R"({"prompt": "a", )" + fields + "}"), std::make_pair(400, Json(param))) << fields;
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
