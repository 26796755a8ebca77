// GgufMetadata in memory: typed getters and setters, range and type errors naming the key and
// both types, in-place replacement, and a tokenizer-sized string array.
#include "io/gguf_metadata.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"

namespace moe::io {
namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const FormatError& error) {
    return error.what();
  }
  return "no error";
}

TEST(GgufMetadata, GettersReturnStoredValues) {
  GgufMetadata metadata;
  metadata.set_int("u8", 200, GgufType::kUint8);
  metadata.set_int("i16", -300, GgufType::kInt16);
  metadata.set_int("count", 8);  // uint32 by default
  metadata.set_int("big", int64_t{1} << 40, GgufType::kUint64);
  metadata.set_float("eps", 1e-5);  // float32 by default
  metadata.set_float("theta", 1e6, GgufType::kFloat64);
  metadata.set_bool("flag", true);
  metadata.set_string("name", "Mixtral 8x7B");
  metadata.set_int_array("ids", {-1, 0, 70000}, GgufType::kInt64);
  metadata.set_float_array("scores", {0.5f, -1.25f});
  metadata.set_string_array("tokens", {"<s>", "", "▁the"});

  EXPECT_EQ(metadata.get_int("u8"), 200);
  EXPECT_EQ(metadata.get_int("i16"), -300);
  EXPECT_EQ(metadata.type("count"), GgufType::kUint32);
  EXPECT_EQ(metadata.get_int("count"), 8);
  EXPECT_EQ(metadata.get_int("big"), int64_t{1} << 40);
  EXPECT_EQ(metadata.get_float("eps"), static_cast<double>(1e-5f));
  EXPECT_EQ(metadata.get_float("theta"), 1e6);
  EXPECT_EQ(metadata.get_float("count"), 8.0);  // integers read as floats too
  EXPECT_EQ(metadata.get_bool("flag"), true);
  EXPECT_EQ(metadata.get_string("name"), "Mixtral 8x7B");
  EXPECT_EQ(metadata.get_int_array("ids"), (std::vector<int64_t>{-1, 0, 70000}));
  EXPECT_EQ(metadata.array_type("ids"), GgufType::kInt64);
  EXPECT_EQ(metadata.get_float_array("scores"), (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(metadata.get_string_array("tokens"), (std::vector<std::string>{"<s>", "", "▁the"}));
  EXPECT_EQ(metadata.array_type("tokens"), GgufType::kString);
  EXPECT_EQ(metadata.get_int("absent"), std::nullopt);
  EXPECT_EQ(metadata.get_string_array("absent"), std::nullopt);
  EXPECT_FALSE(metadata.has("absent"));
  EXPECT_EQ(metadata.size(), 11);
}

TEST(GgufMetadata, GettersRejectOtherTypesNamingKeyAndTypes) {
  GgufMetadata metadata("model.gguf");
  metadata.set_float("eps", 0.5);
  metadata.set_string("name", "x");
  metadata.set_int_array("ids", {1, 2});
  metadata.set_int("huge", 0, GgufType::kUint64);
  metadata.set_bool("flag", false);
  EXPECT_EQ(error_of([&] { metadata.get_int("eps"); }), "model.gguf: key 'eps' has type float32, expected an integer");
  EXPECT_EQ(error_of([&] { metadata.get_int("flag"); }), "model.gguf: key 'flag' has type bool, expected an integer");
  EXPECT_EQ(error_of([&] { metadata.get_float("name"); }), "model.gguf: key 'name' has type string, expected a number");
  EXPECT_EQ(error_of([&] { metadata.get_bool("eps"); }), "model.gguf: key 'eps' has type float32, expected bool");
  EXPECT_EQ(error_of([&] { metadata.get_string("ids"); }), "model.gguf: key 'ids' has type array, expected string");
  EXPECT_EQ(error_of([&] { metadata.get_string_array("ids"); }),
            "model.gguf: key 'ids' has type array of int32, expected array of string");
  EXPECT_EQ(error_of([&] { metadata.get_int_array("name"); }),
            "model.gguf: key 'name' has type string, expected an array of integers");
  EXPECT_EQ(error_of([&] { metadata.type("absent"); }), "model.gguf: no metadata key 'absent'");
  EXPECT_EQ(error_of([&] { metadata.array_type("name"); }), "model.gguf: metadata key 'name' is not an array");
}

TEST(GgufMetadata, SetReplacesInPlaceKeepingOrder) {
  GgufMetadata metadata;
  metadata.set_string("general.architecture", "llama");
  metadata.set_int("llama.expert_count", 8);
  metadata.set_int("llama.expert_used_count", 2);
  metadata.set_float("llama.expert_count", 16.0, GgufType::kFloat64);
  EXPECT_EQ(metadata.keys(),
            (std::vector<std::string>{"general.architecture", "llama.expert_count", "llama.expert_used_count"}));
  EXPECT_EQ(metadata.type("llama.expert_count"), GgufType::kFloat64);
  EXPECT_EQ(metadata.get_float("llama.expert_count"), 16.0);
}

TEST(GgufMetadata, SettersRejectValuesThatDoNotFit) {
  GgufMetadata metadata;
  EXPECT_EQ(error_of([&] { metadata.set_int("k", 256, GgufType::kUint8); }), "key 'k': 256 does not fit uint8");
  EXPECT_EQ(error_of([&] { metadata.set_int("k", -1); }), "key 'k': -1 does not fit uint32");
  EXPECT_EQ(error_of([&] { metadata.set_int("k", 40000, GgufType::kInt16); }), "key 'k': 40000 does not fit int16");
  EXPECT_EQ(error_of([&] { metadata.set_int("k", 1, GgufType::kFloat32); }), "key 'k': float32 is not an integer type");
  EXPECT_EQ(error_of([&] { metadata.set_float("k", 1, GgufType::kInt32); }), "key 'k': int32 is not a float type");
  EXPECT_EQ(error_of([&] {
              metadata.set_int_array("k", {1, 300}, GgufType::kInt8);
            }),
            "key 'k': 300 does not fit int8");
  EXPECT_EQ(error_of([&] { metadata.set_string("", "x"); }), "metadata keys must not be empty");
  EXPECT_EQ(metadata.size(), 0);
  metadata.set_int("k", 4294967295, GgufType::kUint32);
  metadata.set_int("m", -128, GgufType::kInt8);
  EXPECT_EQ(metadata.get_int("k"), 4294967295);
  EXPECT_EQ(metadata.get_int("m"), -128);
}

TEST(GgufMetadata, TokenizerSizedStringArray) {
  std::vector<std::string> tokens(151936);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = "tok" + std::to_string(i);
  GgufMetadata metadata;
  metadata.set_string_array("tokenizer.ggml.tokens", tokens);
  EXPECT_EQ(metadata.get_string_array("tokenizer.ggml.tokens"), tokens);
}

}  // namespace
}  // namespace moe::io
