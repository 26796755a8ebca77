// The chat template renderer against Jinja2: the real templates of Mixtral, Qwen2, Qwen3, OLMoE
// and DeepSeek-V3 over several conversations, and single constructs, byte for byte as
// tests/reference/chat_templates.py rendered them with Debian's python3-jinja2 (sources of the
// templates in tests/golden/chat_templates/SOURCES.md); plus the errors of templates this subset
// cannot parse.
#include "tokenizer/chat_template/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tokenizer/chat_template/parser.h"
#include "tokenizer/chat_template/render.h"

namespace moe::tokenizer {
namespace {

using Json = nlohmann::ordered_json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string kDir = std::string(MOE_GOLDEN_DIR) + "/chat_templates/";

// Renders every case of <name>.json (the reference's output for <name>.jinja).
void check_model_template(const std::string& name) {
  const Json golden = Json::parse(read_file(kDir + name + ".json"));
  const ChatTemplate chat(read_file(kDir + golden["template"].get<std::string>()));
  int n_checked = 0;
  for (const Json& c : golden["cases"]) {
    SCOPED_TRACE(name + " / " + c["name"].get<std::string>());
    ChatTemplateInputs inputs;
    inputs.messages = c["messages"];
    inputs.add_generation_prompt = c["add_generation_prompt"];
    inputs.bos_token = golden["bos_token"];
    inputs.eos_token = golden["eos_token"];
    inputs.tools = c["tools"];
    inputs.extra = c["kwargs"];
    if (c.contains("expected")) {
      EXPECT_EQ(chat.render(inputs), c["expected"].get<std::string>());
    } else {
      try {
        chat.render(inputs);
        ADD_FAILURE() << "rendered, but Jinja2 failed with: " << c["error"];
      } catch (const TemplateError& e) {  // every model template's failure is its raise_exception
        EXPECT_NE(std::string(e.what()).find(c["error"].get<std::string>()), std::string::npos) << e.what();
      }
    }
    ++n_checked;
  }
  EXPECT_GE(n_checked, 10);
}

TEST(ChatTemplate, MixtralMatchesJinja) { check_model_template("mixtral"); }
TEST(ChatTemplate, Qwen2MatchesJinja) { check_model_template("qwen2"); }
TEST(ChatTemplate, Qwen3MatchesJinja) { check_model_template("qwen3"); }
TEST(ChatTemplate, OlmoeMatchesJinja) { check_model_template("olmoe"); }
TEST(ChatTemplate, DeepSeekV3MatchesJinja) { check_model_template("deepseek_v3"); }

TEST(ChatTemplate, FeaturesMatchJinja) {
  const Json golden = Json::parse(read_file(kDir + "features.json"));
  for (const Json& c : golden["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    jinja::Dict variables;
    for (const auto& [key, value] : c["variables"].items()) variables.emplace_back(key, jinja::Value::from_json(value));
    try {
      const std::string out = jinja::render_template(jinja::parse_template(c["template"]), variables);
      if (c.contains("expected")) {
        EXPECT_EQ(out, c["expected"].get<std::string>());
      } else {
        ADD_FAILURE() << "rendered '" << out << "', but Jinja2 failed with: " << c["error"];
      }
    } catch (const TemplateError& e) {
      EXPECT_TRUE(c.contains("error")) << "failed: " << e.what();
      if (c["name"] == "raise_exception") {
        EXPECT_NE(std::string(e.what()).find(c["error"].get<std::string>()), std::string::npos) << e.what();
      }
      EXPECT_EQ(std::string(e.what()).rfind("chat template line 1: ", 0), 0u) << e.what();
    }
  }
}

std::string error_of(const std::string& source, const jinja::Dict& variables = {}) {
  try {
    jinja::render_template(jinja::parse_template(source), variables);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ChatTemplate, UnsupportedConstructsAreClearErrors) {
  EXPECT_EQ(error_of("a\n{% call f() %}x{% endcall %}"),
            "chat template line 2: the tag 'call' is not supported by this Jinja subset");
  EXPECT_EQ(error_of("{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}"),
            "chat template line 1: macro calls nested deeper than 64");
  EXPECT_EQ(error_of("{% include 'x' %}"),
            "chat template line 1: the tag 'include' is not supported by this Jinja subset");
  EXPECT_EQ(error_of("{{ x|wordwrap }}"),
            "chat template line 1: the filter 'wordwrap' is not supported by this Jinja subset");
  EXPECT_EQ(error_of("{{ 'a'.zfill(3) }}"),
            "chat template line 1: 'str' object has no method 'zfill' in this Jinja subset");
  EXPECT_EQ(error_of("{{ f(*args) }}"), "chat template line 1: *args and **kwargs in calls are not supported");
  EXPECT_EQ(error_of("{% for x in l recursive %}{% endfor %}"),
            "chat template line 1: recursive for loops are not supported");
}

TEST(ChatTemplate, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(error_of("\n\n{{ 'a' "), "chat template line 3: {{ is never closed");
  EXPECT_EQ(error_of("{% if x %}a"),
            "chat template line 1: the template ends where elif or else or endif was expected");
  EXPECT_EQ(error_of("x\n{# note"), "chat template line 2: a comment {# is never closed");
  EXPECT_EQ(error_of("{{ 'abc }}"), "chat template line 1: a string is never closed");
  EXPECT_EQ(error_of("{{ a b }}"), "chat template line 1: expected '}}', got 'b'");
  EXPECT_EQ(error_of("{{ 1 + }}"), "chat template line 1: unexpected '}}'");
  EXPECT_EQ(error_of("{{ a ; b }}"), "chat template line 1: unexpected character ';'");
  EXPECT_EQ(error_of("{% endfor %}"), "chat template line 1: the tag 'endfor' is not supported by this Jinja subset");
}

TEST(ChatTemplate, DeepNestingIsRefusedNotACrash) {
  const int n = 100000;
  EXPECT_EQ(error_of("{{ " + std::string(n, '(') + "1" + std::string(n, ')') + " }}"),
            "chat template line 1: nested deeper than 256 levels");
  std::string ifs;
  for (int i = 0; i < n; ++i) ifs += "{% if true %}";
  EXPECT_EQ(error_of(ifs), "chat template line 1: nested deeper than 256 levels");
  std::string elses = "{{ 1";
  for (int i = 0; i < n; ++i) elses += " if x else 2";
  EXPECT_EQ(error_of(elses + " }}"), "chat template line 1: nested deeper than 256 levels");
  std::string nots = "{{ ";
  for (int i = 0; i < n; ++i) nots += "not ";
  EXPECT_EQ(error_of(nots + "x }}"), "chat template line 1: nested deeper than 256 levels");
  // Messages too: a conversation's values nested past the limit are a TemplateError.
  nlohmann::ordered_json deep = "x";
  for (int i = 0; i < 1000; ++i) deep = nlohmann::ordered_json::array({deep});
  ChatTemplateInputs inputs;
  inputs.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", "hi"}, {"extra", deep}}});
  EXPECT_THROW(ChatTemplate("{{ messages|length }}").render(inputs), TemplateError);
}

TEST(ChatTemplate, RuntimeErrorsNameTheLineAndValue) {
  EXPECT_EQ(error_of("a\n\n{{ m.content.x }}", {{"m", jinja::Value(jinja::Dict{})}}),
            "chat template line 3: 'm.content' is undefined (reading .x)");
  EXPECT_EQ(error_of("{{ messages[0]['tool_calls'][0] }}", {{"messages", jinja::Value(jinja::List{jinja::Dict{}})}}),
            "chat template line 1: 'messages[0]['tool_calls']' is undefined (reading [0])");
  EXPECT_EQ(error_of("{{ raise_exception('Roles must alternate') }}"), "chat template line 1: Roles must alternate");
  EXPECT_EQ(error_of("{{ 1 // 0 }}"), "chat template line 1: integer division or modulo by zero");
  EXPECT_EQ(error_of("{{ 'a' + 1 }}"), "chat template line 1: unsupported operand type(s) for +: 'str' and 'int'");
}

TEST(ChatTemplate, TextPartsJoinWithNewlines) {
  const ChatTemplate chat("{% for m in messages %}[{{ m.content }}]{% endfor %}");
  ChatTemplateInputs inputs;
  inputs.messages = Json::parse(R"([{"role": "user", "content": [{"type": "text", "text": "a"},
                                                                  {"type": "text", "text": "b"}]},
                                    {"role": "user", "content": "c"}])");
  EXPECT_EQ(chat.render(inputs), "[a\nb][c]");
}

TEST(ChatTemplate, ExtraVariablesCannotReplaceTheMessages) {
  const ChatTemplate chat("{{ messages|length }} {{ enable_thinking }} {{ add_generation_prompt }}");
  ChatTemplateInputs inputs;
  inputs.messages = Json::array({{{"role", "user"}, {"content", "x"}}});
  inputs.extra = {{"enable_thinking", false}, {"messages", Json::array()}, {"add_generation_prompt", 5}};
  EXPECT_EQ(chat.render(inputs), "1 False True");
}

TEST(ChatTemplate, TemplateFromTokenizerConfig) {
  EXPECT_EQ(chat_template_from_config(nlohmann::json("{{ x }}"), "c.json"), "{{ x }}");
  EXPECT_EQ(chat_template_from_config(nlohmann::json(), "c.json"), "");
  const auto named =
      nlohmann::json::parse(R"([{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}])");
  EXPECT_EQ(chat_template_from_config(named, "c.json"), "D");
  EXPECT_EQ(chat_template_from_config(nlohmann::json::array({{{"name", "rag"}, {"template", "R"}}}), "c.json"), "");
  EXPECT_THROW(chat_template_from_config(nlohmann::json(3), "c.json"), FormatError);
  EXPECT_THROW(chat_template_from_config(nlohmann::json::array({1}), "c.json"), FormatError);
}

}  // namespace
}  // namespace moe::tokenizer
