// GGUF files: a file written by hand from the spec read and reproduced byte for byte, write -> read
// -> write identity with every metadata type, quantized bytes kept, alignment, and a FormatError
// (never a crash) for every truncation, corruption and malformed field.
#include "io/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "core/half.h"
#include "core/quantize.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace moe::io {
namespace {

using testing::Bytes;
using testing::read_bytes;
using testing::tmp_path;
using testing::write_bytes;

std::string error_of(const std::string& path) {
  try {
    GgufFile::open(path);
  } catch (const FormatError& error) {
    return error.what();
  }
  return "no error";
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::vector<std::byte> to_bytes(const std::vector<uint8_t>& values) {
  std::vector<std::byte> bytes(values.size());
  std::memcpy(bytes.data(), values.data(), values.size());
  return bytes;
}

// One q8_0 block: scale 1.0 (fp16 0x3c00), quants 0..31.
std::vector<uint8_t> q8_block() {
  std::vector<uint8_t> block = {0x00, 0x3c};
  for (uint8_t q = 0; q < 32; ++q) block.push_back(q);
  return block;
}

// By hand from docs/gguf.md: 3 key/value pairs and 2 tensors, default alignment 32.
std::vector<uint8_t> hand_built_gguf() {
  Bytes b;
  b.raw("GGUF").u32(3).u64(2).u64(3);
  b.str("general.architecture").u32(8).str("llama");
  b.str("llama.expert_count").u32(4).u32(8);
  b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(2).str("a").str("bc");
  b.str("w").u32(2).u64(3).u64(2).u32(0).u64(0);  // f32, ne = [3, 2]
  b.str("q").u32(1).u64(32).u32(8).u64(32);       // q8_0, ne = [32], after 24 bytes padded to 32
  b.pad_to(32);
  for (float value : {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}) b.f32(value);
  b.pad_to(32);
  for (uint8_t byte : q8_block()) b.u8(byte);
  b.pad_to(32);
  return b.data();
}

TEST(Gguf, ReadsHandBuiltFile) {
  const std::string path = tmp_path("hand_built.gguf");
  write_bytes(path, hand_built_gguf());
  const GgufFile file = GgufFile::open(path);
  EXPECT_EQ(file.path(), path);
  EXPECT_EQ(file.metadata().keys(),
            (std::vector<std::string>{"general.architecture", "llama.expert_count", "tokenizer.ggml.tokens"}));
  EXPECT_EQ(file.metadata().get_string("general.architecture"), "llama");
  EXPECT_EQ(file.metadata().type("llama.expert_count"), GgufType::kUint32);
  EXPECT_EQ(file.metadata().get_int("llama.expert_count"), 8);
  EXPECT_EQ(file.metadata().get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(file.tensor_names(), (std::vector<std::string>{"w", "q"}));
  EXPECT_EQ(file.alignment(), 32);
  EXPECT_EQ(file.data_offset() % 32, 0);

  const Tensor& w = file.tensors().at("w");
  EXPECT_EQ(w.dtype(), DType::kF32);
  EXPECT_EQ(w.shape(), (std::vector<int64_t>{2, 3}));  // ne reversed
  EXPECT_EQ(w.to_f32(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(file.tensor_offset("w"), file.data_offset());
  const Tensor& q = file.tensors().at("q");
  EXPECT_EQ(q.dtype(), DType::kQ8_0);
  EXPECT_EQ(q.shape(), std::vector<int64_t>{32});
  std::vector<float> expected(32);
  for (int i = 0; i < 32; ++i) expected[i] = static_cast<float>(i);
  EXPECT_EQ(q.to_f32(), expected);
  EXPECT_EQ(file.tensor_offset("q"), file.data_offset() + 32);
}

TEST(Gguf, ReadsVersion2) {
  std::vector<uint8_t> bytes = hand_built_gguf();
  bytes[4] = 2;
  const std::string path = tmp_path("version2.gguf");
  write_bytes(path, bytes);
  EXPECT_EQ(GgufFile::open(path).tensors().size(), 2u);
}

TEST(Gguf, WriterReproducesHandBuiltFile) {
  GgufWriter writer;
  writer.metadata().set_string("general.architecture", "llama");
  writer.metadata().set_int("llama.expert_count", 8);
  writer.metadata().set_string_array("tokenizer.ggml.tokens", {"a", "bc"});
  writer.add_tensor("w", Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6}));
  writer.add_tensor("q", Tensor::from_bytes(DType::kQ8_0, {32}, to_bytes(q8_block())));
  const std::string path = tmp_path("reproduced.gguf");
  writer.write(path);
  EXPECT_EQ(read_bytes(path), hand_built_gguf());
}

const std::string kText("h\xc3\xa9llo\0x", 8);  // UTF-8 and an embedded NUL

void set_every_type(GgufMetadata& metadata) {
  metadata.set_int("u8", 255, GgufType::kUint8);
  metadata.set_int("i8", -128, GgufType::kInt8);
  metadata.set_int("u16", 65535, GgufType::kUint16);
  metadata.set_int("i16", -32768, GgufType::kInt16);
  metadata.set_int("u32", 4294967295, GgufType::kUint32);
  metadata.set_int("i32", -2147483647 - 1, GgufType::kInt32);
  metadata.set_float("f32", 0.1);
  metadata.set_bool("bool", true);
  metadata.set_string("string", kText);
  metadata.set_string_array("array.string", {"<s>", "", "▁the"});
  metadata.set_int("u64", int64_t{1} << 62, GgufType::kUint64);
  metadata.set_int("i64", -(int64_t{1} << 62), GgufType::kInt64);
  metadata.set_float("f64", 1e-300, GgufType::kFloat64);
  metadata.set_int_array("array.u8", {0, 255}, GgufType::kUint8);
  metadata.set_int_array("array.i16", {-5, 7}, GgufType::kInt16);
  metadata.set_int_array("array.u64", {int64_t{1} << 40}, GgufType::kUint64);
  metadata.set_int_array("array.empty", {});
  metadata.set_float_array("array.f32", {0.5f, -2.0f, 1e-7f});
}

void expect_every_type(const GgufMetadata& metadata) {
  const std::pair<const char*, GgufType> types[] = {
      {"u8", GgufType::kUint8},           {"i8", GgufType::kInt8},           {"u16", GgufType::kUint16},
      {"i16", GgufType::kInt16},          {"u32", GgufType::kUint32},        {"i32", GgufType::kInt32},
      {"f32", GgufType::kFloat32},        {"bool", GgufType::kBool},         {"string", GgufType::kString},
      {"array.string", GgufType::kArray}, {"u64", GgufType::kUint64},        {"i64", GgufType::kInt64},
      {"f64", GgufType::kFloat64},        {"array.u8", GgufType::kArray},    {"array.i16", GgufType::kArray},
      {"array.u64", GgufType::kArray},    {"array.empty", GgufType::kArray}, {"array.f32", GgufType::kArray},
  };
  std::vector<std::string> keys;
  for (const auto& [key, type] : types) {
    keys.push_back(key);
    EXPECT_EQ(metadata.type(key), type) << key;
  }
  EXPECT_EQ(metadata.keys(), keys);
  EXPECT_EQ(metadata.get_int("u8"), 255);
  EXPECT_EQ(metadata.get_int("i8"), -128);
  EXPECT_EQ(metadata.get_int("u16"), 65535);
  EXPECT_EQ(metadata.get_int("i16"), -32768);
  EXPECT_EQ(metadata.get_int("u32"), 4294967295);
  EXPECT_EQ(metadata.get_int("i32"), -2147483648);
  EXPECT_EQ(metadata.get_float("f32"), static_cast<double>(0.1f));
  EXPECT_EQ(metadata.get_bool("bool"), true);
  EXPECT_EQ(metadata.get_string("string"), kText);
  EXPECT_EQ(metadata.get_string_array("array.string"), (std::vector<std::string>{"<s>", "", "▁the"}));
  EXPECT_EQ(metadata.get_int("u64"), int64_t{1} << 62);
  EXPECT_EQ(metadata.get_int("i64"), -(int64_t{1} << 62));
  EXPECT_EQ(metadata.get_float("f64"), 1e-300);
  EXPECT_EQ(metadata.array_type("array.u8"), GgufType::kUint8);
  EXPECT_EQ(metadata.get_int_array("array.u8"), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(metadata.array_type("array.i16"), GgufType::kInt16);
  EXPECT_EQ(metadata.get_int_array("array.i16"), (std::vector<int64_t>{-5, 7}));
  EXPECT_EQ(metadata.get_int_array("array.u64"), (std::vector<int64_t>{int64_t{1} << 40}));
  EXPECT_EQ(metadata.array_type("array.empty"), GgufType::kInt32);
  EXPECT_EQ(metadata.get_int_array("array.empty"), std::vector<int64_t>{});
  EXPECT_EQ(metadata.get_float_array("array.f32"), (std::vector<float>{0.5f, -2.0f, 1e-7f}));
}

// Random weights quantized with the reference codec.
Tensor quantized(DType dtype, std::vector<int64_t> shape, uint32_t seed) {
  const Tensor source = [&] {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    int64_t n = 1;
    for (int64_t extent : shape) n *= extent;
    std::vector<float> values(n);
    for (float& value : values) value = normal(rng);
    return Tensor::from_f32(shape, values);
  }();
  std::vector<std::byte> bytes(source.rows() * row_bytes(dtype, source.cols()));
  for (int64_t r = 0; r < source.rows(); ++r)
    quantize_row(dtype, source.f32() + r * source.cols(), bytes.data() + r * row_bytes(dtype, source.cols()),
                 source.cols());
  return Tensor::from_bytes(dtype, shape, std::move(bytes));
}

// Every metadata type and every dtype, shapes of 1 to 4 dimensions with odd sizes.
GgufWriter every_kind_writer() {
  GgufWriter writer;
  set_every_type(writer.metadata());
  writer.add_tensor("token_embd.weight", Tensor::from_f32({3, 5}, std::vector<float>(15, 0.25f)));
  const std::vector<uint16_t> halves = {f32_to_f16(1.5f), f32_to_f16(-3.0f), 0x0001};
  std::vector<std::byte> f16(6);
  std::memcpy(f16.data(), halves.data(), 6);
  writer.add_tensor("blk.0.attn_norm.weight", Tensor::from_bytes(DType::kF16, {3}, f16));
  writer.add_tensor("blk.0.ffn_gate_inp.weight", Tensor::from_bytes(DType::kBF16, {1, 1, 1, 3}, f16));
  writer.add_tensor("blk.0.ffn_up_exps.weight", quantized(DType::kQ8_0, {2, 3, 64}, 1));
  writer.add_tensor("blk.0.ffn_down_exps.weight", quantized(DType::kQ4_0, {2, 64, 32}, 2));
  return writer;
}

TEST(Gguf, RoundTripKeepsEveryType) {
  const std::string path = tmp_path("every_type.gguf");
  every_kind_writer().write(path);
  const GgufFile file = GgufFile::open(path);
  expect_every_type(file.metadata());
  EXPECT_EQ(file.tensor_names(),
            (std::vector<std::string>{"token_embd.weight", "blk.0.attn_norm.weight", "blk.0.ffn_gate_inp.weight",
                                      "blk.0.ffn_up_exps.weight", "blk.0.ffn_down_exps.weight"}));
  EXPECT_EQ(file.tensors().at("token_embd.weight").to_f32(), std::vector<float>(15, 0.25f));
  EXPECT_EQ(file.tensors().at("blk.0.attn_norm.weight").to_f32(), (std::vector<float>{1.5f, -3.0f, 5.9604645e-08f}));
  EXPECT_EQ(file.tensors().at("blk.0.ffn_gate_inp.weight").shape(), (std::vector<int64_t>{1, 1, 1, 3}));
  EXPECT_EQ(file.tensors().at("blk.0.ffn_gate_inp.weight").dtype(), DType::kBF16);
}

TEST(Gguf, WriteReadWriteIsByteIdentical) {
  const std::string first = tmp_path("first.gguf");
  const std::string second = tmp_path("second.gguf");
  every_kind_writer().write(first);
  {
    const GgufFile file = GgufFile::open(first);
    GgufWriter writer;
    writer.metadata() = file.metadata();
    for (const std::string& name : file.tensor_names()) writer.add_tensor(name, file.tensors().at(name));
    writer.write(second);
  }
  EXPECT_EQ(read_bytes(second), read_bytes(first));
  // Rewriting a file over itself streams from the old mapping, which outlives the rename.
  {
    const GgufFile file = GgufFile::open(second);
    GgufWriter writer;
    writer.metadata() = file.metadata();
    for (const std::string& name : file.tensor_names()) writer.add_tensor(name, file.tensors().at(name));
    writer.write(second);
  }
  EXPECT_EQ(read_bytes(second), read_bytes(first));
}

TEST(Gguf, QuantizedTensorsKeepBytes) {
  const std::string path = tmp_path("quantized.gguf");
  const Tensor q8 = quantized(DType::kQ8_0, {4, 96}, 3);
  const Tensor q4 = quantized(DType::kQ4_0, {3, 2, 32}, 4);
  GgufWriter writer;
  writer.add_tensor("q8", q8);
  writer.add_tensor("q4", q4);
  writer.write(path);
  const GgufFile file = GgufFile::open(path);
  for (const auto& [name, expected] : {std::pair{"q8", q8}, std::pair{"q4", q4}}) {
    const Tensor& got = file.tensors().at(name);
    EXPECT_EQ(got.dtype(), expected.dtype()) << name;
    EXPECT_EQ(got.shape(), expected.shape()) << name;
    ASSERT_EQ(got.nbytes(), expected.nbytes()) << name;
    EXPECT_EQ(std::memcmp(got.data(), expected.data(), expected.nbytes()), 0) << name;
    EXPECT_EQ(got.to_f32(), expected.to_f32()) << name;
  }
}

TEST(Gguf, TensorOffsetsAreAligned) {
  // 12, 10 and 36 bytes: padded to 32, 32, 64 by default and 64, 64, 64 with alignment 64.
  GgufWriter writer;
  writer.add_tensor("a", Tensor::from_f32({3}, {1, 2, 3}));
  writer.add_tensor("b", Tensor::from_bytes(DType::kF16, {5}, std::vector<std::byte>(10)));
  writer.add_tensor("c", quantized(DType::kQ4_0, {2, 32}, 5));
  const std::string path = tmp_path("aligned.gguf");
  writer.write(path);
  {
    const GgufFile file = GgufFile::open(path);
    const int64_t data = file.data_offset();
    EXPECT_EQ(data % 32, 0);
    EXPECT_EQ(file.tensor_offset("a"), data);
    EXPECT_EQ(file.tensor_offset("b"), data + 32);
    EXPECT_EQ(file.tensor_offset("c"), data + 64);
    EXPECT_EQ(static_cast<int64_t>(std::filesystem::file_size(path)), data + 128);
  }
  writer.metadata().set_int("general.alignment", 64);
  writer.write(path);
  const GgufFile file = GgufFile::open(path);
  const int64_t data = file.data_offset();
  EXPECT_EQ(file.alignment(), 64);
  EXPECT_EQ(data % 64, 0);
  EXPECT_EQ(file.tensor_offset("a"), data);
  EXPECT_EQ(file.tensor_offset("b"), data + 64);
  EXPECT_EQ(file.tensor_offset("c"), data + 128);
  EXPECT_EQ(static_cast<int64_t>(std::filesystem::file_size(path)), data + 192);
  EXPECT_EQ(file.tensors().at("a").to_f32(), (std::vector<float>{1, 2, 3}));
}

TEST(Gguf, TruncationAtEveryByteIsFormatError) {
  GgufWriter writer;
  writer.metadata().set_string("general.architecture", "qwen2moe");
  writer.metadata().set_bool("flag", false);
  writer.metadata().set_float("f64", 2.5, GgufType::kFloat64);
  writer.metadata().set_string_array("tokens", {"x", "yz"});
  writer.metadata().set_int_array("types", {1, 2, 3});
  writer.add_tensor("w", Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6}));
  writer.add_tensor("q", quantized(DType::kQ8_0, {1, 32}, 6));
  const std::string source = tmp_path("truncate_source.gguf");
  writer.write(source);
  const std::vector<uint8_t> bytes = read_bytes(source);
  const std::string path = tmp_path("truncated.gguf");
  for (size_t size = 0; size < bytes.size(); ++size) {
    write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + size));
    EXPECT_THROW(GgufFile::open(path), FormatError) << "truncated to " << size;
  }
}

TEST(Gguf, CorruptingAnyHeaderByteNeverCrashes) {
  const std::string source = tmp_path("corrupt_source.gguf");
  every_kind_writer().write(source);
  const std::vector<uint8_t> bytes = read_bytes(source);
  const auto header_size = static_cast<size_t>(GgufFile::open(source).data_offset());
  const std::string path = tmp_path("corrupt.gguf");
  for (size_t pos = 0; pos < header_size; ++pos) {
    for (uint8_t value : {0x00, 0x01, 0x0d, 0x80, 0xff}) {
      std::vector<uint8_t> corrupt = bytes;
      corrupt[pos] = value;
      write_bytes(path, corrupt);
      try {
        GgufFile::open(path);
      } catch (const FormatError&) {
      }  // any other exception type fails the test
    }
  }
}

TEST(Gguf, BadMagicIsNotGguf) {
  const std::string path = tmp_path("bad_magic.gguf");
  std::vector<uint8_t> bytes = hand_built_gguf();
  bytes[0] = 'g';
  write_bytes(path, bytes);
  EXPECT_EQ(error_of(path), path + ": not a GGUF file (bad magic)");
  write_safetensors(path, {{"a", Tensor::from_f32({1}, {1})}});
  EXPECT_EQ(error_of(path), path + ": not a GGUF file (bad magic)");
  write_bytes(path, {});
  EXPECT_TRUE(starts_with(error_of(path), path + ": truncated: the GGUF magic needs 4 bytes"));
}

TEST(Gguf, UnsupportedTypeNamesTensor) {
  const std::string path = tmp_path("iq2_xxs.gguf");
  Bytes b;
  b.raw("GGUF").u32(3).u64(1).u64(0);
  b.str("blk.0.ffn_down_exps.weight").u32(2).u64(256).u64(2).u32(16).u64(0);
  b.pad_to(32).zeros(2 * 66);
  write_bytes(path, b.data());
  EXPECT_EQ(error_of(path), path +
                                ": tensor 'blk.0.ffn_down_exps.weight' has ggml type 16 (iq2_xxs), "
                                "which moe.cpp does not read yet");
}

// The k-quants of llama-quantize's mixes: ggml type ids 10, 11, 13 with 84, 110 and 176 bytes per
// 256 weights (the blocks of ggml-common.h), each read as its dtype with its row size.
TEST(Gguf, ReadsQ2KQ3KQ5KTensors) {
  const std::string path = tmp_path("kquants.gguf");
  Bytes b;
  b.raw("GGUF").u32(3).u64(3).u64(0);
  b.str("q2").u32(2).u64(256).u64(2).u32(10).u64(0);
  b.str("q3").u32(2).u64(512).u64(1).u32(11).u64(2 * 84 + 24);  // aligned to 32
  b.str("q5").u32(2).u64(256).u64(1).u32(13).u64(192 + 224);
  b.pad_to(32).zeros(192 + 224 + 192);  // every tensor padded to 32 bytes
  write_bytes(path, b.data());
  const io::GgufFile file = io::GgufFile::open(path);
  for (auto [name, dtype, row] :
       {std::tuple{"q2", DType::kQ2_K, 84}, std::tuple{"q3", DType::kQ3_K, 220}, std::tuple{"q5", DType::kQ5_K, 176}}) {
    const Tensor& t = file.tensors().at(name);
    EXPECT_EQ(t.dtype(), dtype) << name;
    EXPECT_EQ(t.row_bytes(), row) << name;
  }
}

// A v3 header with `n_tensors` and `n_kv`, for the malformed files below.
Bytes header(uint64_t n_tensors, uint64_t n_kv) {
  Bytes b;
  b.raw("GGUF").u32(3).u64(n_tensors).u64(n_kv);
  return b;
}

// One f32 tensor "t" of 8 elements at data offset 0, with its data.
Bytes with_f32_tensor(Bytes b) {
  b.str("t").u32(1).u64(8).u32(0).u64(0).pad_to(32).zeros(32);
  return b;
}

TEST(Gguf, RejectsMalformedFields) {
  const struct {
    std::vector<uint8_t> bytes;
    std::string message;  // after "<path>: "
  } cases[] = {
      {hand_built_gguf(), ""},
      {[] {
         auto bytes = hand_built_gguf();
         bytes[4] = 1;
         return bytes;
       }(),
       "GGUF version 1 is not supported (expected 2 or 3)"},
      {header(0, 1000000).data(), "truncated: the header claims 1000000 key/value pairs but only 0 bytes follow"},
      {header(1000, 0).zeros(64).data(), "truncated: the header claims 1000 tensors but only 64 bytes follow"},
      {header(0, 2).str("a").u32(0).u8(1).str("a").u32(0).u8(2).data(), "duplicate metadata key 'a'"},
      {header(0, 1).str("").u32(0).u8(1).zeros(1).data(), "metadata key 0 is empty"},
      {header(0, 1).str("a").u32(13).u8(1).data(), "key 'a' has unknown GGUF type 13"},
      {header(0, 1).str("a").u32(7).u8(2).data(), "key 'a' is a bool holding 2, expected 0 or 1"},
      {header(0, 1).str("a").u32(9).u32(9).u64(0).data(),
       "key 'a' is an array of arrays, which llama.cpp does not read either"},
      {header(0, 1).str("a").u32(9).u32(4).u64(1000).u32(0).data(),
       "truncated: key 'a' claims 1000 elements but only 4 bytes remain"},
      {header(0, 1).str("a").u32(8).u64(1000000).raw("abc").data(),
       "truncated: key 'a' needs 1000000 bytes at offset 45 but only 3 remain"},
      {header(0, 1).str("general.alignment").u32(4).u32(48).data(),
       "key 'general.alignment' is 48, expected a power of two"},
      {header(0, 1).str("general.alignment").u32(5).i32(64).data(),
       "key 'general.alignment' has type int32, expected uint32"},
      {with_f32_tensor(header(1, 0)).data(), ""},
      {header(1, 0).str("t").u32(5).u64(1).u64(1).u64(1).u64(1).u64(1).u32(0).u64(0).data(),
       "tensor 't' has 5 dimensions, expected 1 to 4"},
      {header(1, 0).str("t").u32(0).u32(0).u64(0).zeros(16).data(), "tensor 't' has 0 dimensions, expected 1 to 4"},
      {header(1, 0).str("t").u32(1).u64(33).u32(8).u64(0).pad_to(32).zeros(64).data(),
       "tensor 't' has rows of 33 elements, not a whole number of q8_0 blocks of 32"},
      {header(1, 0).str("t").u32(2).u64(1ull << 62).u64(4).u32(0).u64(0).data(),
       "tensor 't' has more elements than int64 can count"},
      {header(1, 0).str("t").u32(1).u64(~0ull).u32(0).u64(0).data(),
       "tensor 't' has 18446744073709551615 elements along ne[0]"},
      {header(1, 0).str("t").u32(1).u64(8).u32(0).u64(8).pad_to(32).zeros(64).data(),
       "tensor 't' starts at data offset 8, not a multiple of the alignment 32"},
      {header(1, 0).str("t").u32(1).u64(8).u32(0).u64(32).pad_to(32).zeros(32).data(),
       "truncated: tensor 't' needs 32 bytes and padding at data offset 32"},
      {header(2, 0)
           .str("t")
           .u32(1)
           .u64(8)
           .u32(0)
           .u64(0)
           .str("t")
           .u32(1)
           .u64(8)
           .u32(0)
           .u64(32)
           .pad_to(32)
           .zeros(64)
           .data(),
       "duplicate tensor name 't'"},
      {header(1, 0).str("t").u32(1).u64(8).u32(200).u64(0).pad_to(32).zeros(32).data(),
       "tensor 't' has ggml type 200 (unknown), which moe.cpp does not read yet"},
  };
  const std::string path = tmp_path("malformed.gguf");
  for (const auto& c : cases) {
    write_bytes(path, c.bytes);
    const std::string message = error_of(path);
    if (c.message.empty()) {
      EXPECT_EQ(message, "no error");
    } else {
      EXPECT_TRUE(starts_with(message, path + ": " + c.message)) << message;
    }
  }
}

TEST(Gguf, WriterRejectsWhatLlamaCppCannotRead) {
  GgufWriter writer;
  const Tensor t = Tensor::from_f32({1}, {1});
  writer.add_tensor(std::string(63, 'n'), t);
  EXPECT_THROW(writer.add_tensor(std::string(64, 'n'), t), FormatError);
  EXPECT_THROW(writer.add_tensor("", t), FormatError);
  EXPECT_THROW(writer.add_tensor(std::string(63, 'n'), t), FormatError);  // added twice
  EXPECT_THROW(writer.add_tensor("scalar", Tensor::from_f32({}, {1})), FormatError);
  EXPECT_THROW(writer.add_tensor("5d", Tensor::from_f32({1, 1, 1, 1, 1}, {1})), FormatError);

  const std::string path = tmp_path("rejected.gguf");
  std::filesystem::remove(path);
  writer.metadata().set_int("general.alignment", 48);
  EXPECT_THROW(writer.write(path), FormatError);
  writer.metadata().set_int("general.alignment", 64, GgufType::kUint64);
  EXPECT_THROW(writer.write(path), FormatError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace moe::io
