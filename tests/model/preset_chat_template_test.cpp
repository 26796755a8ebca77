// The presets' chat templates are their architectures' real instruct templates (the files the
// Jinja2 goldens were rendered from), and a preset saved as HF or GGUF carries its template.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "model/arch/arch_table.h"
#include "model/presets.h"
#include "model_test_util.h"

namespace moe::model {
namespace {

std::string golden_template(const std::string& name) {
  std::ifstream in(std::string(MOE_GOLDEN_DIR) + "/chat_templates/" + name + ".jinja", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return text.str();
}

TEST(PresetChatTemplate, IsTheRealModelsTemplate) {
  EXPECT_EQ(arch_table(Arch::kMixtral).preset_chat_template, golden_template("mixtral"));
  EXPECT_EQ(arch_table(Arch::kQwen2Moe).preset_chat_template, golden_template("qwen2"));
  EXPECT_EQ(arch_table(Arch::kQwen3Moe).preset_chat_template, golden_template("qwen3"));
  EXPECT_EQ(arch_table(Arch::kOlmoe).preset_chat_template, golden_template("olmoe"));
  EXPECT_EQ(arch_table(Arch::kDeepseekV3).preset_chat_template, golden_template("deepseek_v3"));
}

TEST(PresetChatTemplate, TravelsThroughHfAndGguf) {
  const Model made = make_preset_model("qwen3moe-tiny", 3, DType::kF32);
  EXPECT_EQ(made.vocab.chat_template, golden_template("qwen3"));
  const std::string hf = testing::tmp_path("chat-template-hf"), gguf = testing::tmp_path("chat-template.gguf");
  save_model(made, hf, FileFormat::kHf);
  save_model(made, gguf, FileFormat::kGguf);
  EXPECT_EQ(load_model(hf).vocab.chat_template, made.vocab.chat_template);
  EXPECT_EQ(load_model(gguf).vocab.chat_template, made.vocab.chat_template);
}

}  // namespace
}  // namespace moe::model
