// parse_chat_request: the messages through the preset's template (Mixtral-Instruct's) to prompt
// ids with one BOS, chat's defaults (max_tokens: the rest of the context), max_completion_tokens,
// and where the template comes from (--chat-template, the model's, none).
#include "serve/chat_request.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "model/presets.h"
#include "serve/api_error.h"

namespace moe::serve {
namespace {

class ChatRequestTest : public ::testing::Test {
 protected:
  ChatRequestTest()
      : tokenizer_(model::make_preset_model("mixtral-tiny", 1, DType::kF32).vocab),
        model_{"tiny", &tokenizer_, 64},
        chat_(served_chat_template("", tokenizer_.vocab().chat_template)) {}

  tokenizer::Tokenizer tokenizer_;
  ServedModel model_;
  ServedChatTemplate chat_;
};

TEST_F(ChatRequestTest, TemplateWritesTheOnlyBos) {
  const CompletionRequest r = parse_chat_request(R"({"messages": [{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": "Hi"}]})",
                                                 model_, chat_);
  const std::vector<int32_t> want = tokenizer_.encode("<s> [INST] Be brief.\n\nHi [/INST]", false);
  EXPECT_EQ(r.params.prompt, want);
  EXPECT_EQ(want[0], tokenizer_.bos_id());
  EXPECT_EQ(std::count(want.begin(), want.end(), tokenizer_.bos_id()), 1);
  EXPECT_EQ(r.params.max_tokens, 64 - static_cast<int64_t>(want.size()));  // chat: the rest of the context
}

TEST_F(ChatRequestTest, MaxCompletionTokensIsMaxTokensOtherName) {
  const std::string messages = R"("messages": [{"role": "user", "content": "Hi"}])";
  EXPECT_EQ(parse_chat_request("{" + messages + R"(, "max_tokens": 5})", model_, chat_).params.max_tokens, 5);
  EXPECT_EQ(parse_chat_request("{" + messages + R"(, "max_completion_tokens": 7})", model_, chat_).params.max_tokens,
            7);
  EXPECT_THROW(parse_chat_request("{" + messages + R"(, "max_tokens": 5, "max_completion_tokens": 7})", model_, chat_),
               ApiError);
}

TEST_F(ChatRequestTest, TemplateWithoutBosGetsTheTokenizersBos) {
  const std::string path = std::string(MOE_TEST_TMP) + "/plain.jinja";
  std::filesystem::create_directories(MOE_TEST_TMP);
  std::ofstream(path) << "{% for m in messages %}{{ m.content }}{% endfor %}";
  const ServedChatTemplate plain = served_chat_template(path, tokenizer_.vocab().chat_template);
  const CompletionRequest r = parse_chat_request(R"({"messages": [{"role": "user", "content": "Hi"}]})", model_, plain);
  EXPECT_EQ(r.params.prompt, tokenizer_.encode("Hi", true));
}

TEST_F(ChatRequestTest, NoTemplateIsA400NamingTheFlag) {
  const ServedChatTemplate none = served_chat_template("", "");
  try {
    parse_chat_request(R"({"messages": [{"role": "user", "content": "Hi"}]})", model_, none);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("--chat-template FILE"), std::string::npos) << e.what();
  }
  const ServedChatTemplate broken = served_chat_template("", "{% call x() %}{% endcall %}");
  EXPECT_EQ(broken.chat_template, nullptr);
  EXPECT_NE(broken.missing.find("'call' is not supported"), std::string::npos) << broken.missing;
  EXPECT_THROW(served_chat_template(std::string(MOE_TEST_TMP) + "/none.jinja", ""), UsageError);
}

TEST_F(ChatRequestTest, TemplateErrorIsA400OnMessages) {
  try {
    parse_chat_request(R"({"messages": [{"role": "assistant", "content": "Hi"}]})", model_, chat_);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.body()["error"]["param"], "messages");
    EXPECT_NE(std::string(e.what()).find("conversation roles must alternate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace moe::serve
