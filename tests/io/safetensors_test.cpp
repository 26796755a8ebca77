// safetensors: round trips, Hugging Face's exact byte layout, hand-built files, and rejection of
// every truncation and malformed header with a FormatError naming the file and tensor.
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "io_test_util.h"

namespace moe::io {
namespace {

using testing::Bytes;
using testing::read_bytes;
using testing::tmp_path;
using testing::write_bytes;

Tensor u16_tensor(DType dtype, std::vector<int64_t> shape, const std::vector<uint16_t>& values) {
  std::vector<std::byte> bytes(values.size() * 2);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return Tensor::from_bytes(dtype, std::move(shape), std::move(bytes));
}

// A file made of the 8-byte header length, `header` and `data`.
std::vector<uint8_t> file_bytes(const std::string& header, const std::vector<uint8_t>& data) {
  Bytes bytes;
  bytes.u64(header.size()).raw(header);
  std::vector<uint8_t> out = bytes.data();
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string error_of(const std::string& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const FormatError& error) {
    return error.what();
  }
  return "no error";
}

TEST(Safetensors, RoundTripF32F16Bf16WithMetadata) {
  const std::string path = tmp_path("round_trip.safetensors");
  const Tensor f32 = Tensor::from_f32({2, 3}, {1.5f, -2.0f, 0.0f, 3.25f, 1e-8f, -7.0f});
  const Tensor f16 = u16_tensor(DType::kF16, {3}, {f32_to_f16(1.0f), f32_to_f16(-0.5f), 0x7bff});
  const Tensor bf16 = u16_tensor(DType::kBF16, {1, 2}, {f32_to_bf16(3.0f), f32_to_bf16(-1e10f)});
  write_safetensors(path, {{"w.f32", f32}, {"w.f16", f16}, {"w.bf16", bf16}}, {{"format", "pt"}, {"note", "a b"}});

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.path(), path);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "a b"}}));
  ASSERT_EQ(file.tensors().size(), 3u);
  const Tensor& got_f32 = file.tensors().at("w.f32");
  EXPECT_EQ(got_f32.dtype(), DType::kF32);
  EXPECT_EQ(got_f32.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(got_f32.to_f32(), f32.to_f32());
  const Tensor& got_f16 = file.tensors().at("w.f16");
  EXPECT_EQ(got_f16.dtype(), DType::kF16);
  EXPECT_EQ(got_f16.shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(got_f16.to_f32(), (std::vector<float>{1.0f, -0.5f, 65504.0f}));
  const Tensor& got_bf16 = file.tensors().at("w.bf16");
  EXPECT_EQ(got_bf16.dtype(), DType::kBF16);
  EXPECT_EQ(got_bf16.shape(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(std::memcmp(got_bf16.data(), bf16.data(), 4), 0);
  EXPECT_EQ(got_bf16.to_f32()[0], 3.0f);
}

TEST(Safetensors, WritesHuggingFaceLayoutByteForByte) {
  const std::string path = tmp_path("layout.safetensors");
  write_safetensors(path, {{"b", u16_tensor(DType::kF16, {2}, {0x3c00, 0xc000})}, {"a", Tensor::from_f32({1}, {0.5f})}},
                    {{"format", "pt"}});
  // 138 bytes of compact JSON, tensors in the given order, padded with 6 spaces to 144.
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("b":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                             R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}      )";
  ASSERT_EQ(header.size(), 144u);
  const std::vector<uint8_t> expected = file_bytes(header, {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x3f});
  EXPECT_EQ(read_bytes(path), expected);
}

TEST(Safetensors, ReadsHandBuiltFile) {
  const std::string path = tmp_path("hand_built.safetensors");
  // Keys in another order than ours, tensors listed out of data order, a scalar, space padding.
  const std::string header = R"({"x":{"shape":[2,2],"data_offsets":[4,20],"dtype":"F32"},)"
                             R"("s":{"dtype":"BF16","data_offsets":[0,2],"shape":[]},)"
                             R"("p":{"dtype":"F16","data_offsets":[2,4],"shape":[1]},)"
                             R"("y":{"dtype":"F16","shape":[1],"data_offsets":[20,22]}}   )";
  ASSERT_EQ((8 + header.size()) % 2, 1u);  // every tensor misaligned in the file
  Bytes data;
  data.u16(0x4040).u16(0x3c00).f32(1.0f).f32(2.0f).f32(-3.0f).f32(4.5f).u16(0xc000);
  write_bytes(path, file_bytes(header, data.data()));

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_TRUE(file.metadata().empty());
  ASSERT_EQ(file.tensors().size(), 4u);
  EXPECT_EQ(file.tensors().at("s").shape(), std::vector<int64_t>{});
  EXPECT_EQ(file.tensors().at("s").to_f32(), std::vector<float>{3.0f});  // bf16 0x4040
  EXPECT_EQ(file.tensors().at("p").to_f32(), std::vector<float>{1.0f});  // f16 0x3c00
  EXPECT_EQ(file.tensors().at("x").shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(file.tensors().at("x").to_f32(), (std::vector<float>{1.0f, 2.0f, -3.0f, 4.5f}));
  for (const auto& [name, tensor] : file.tensors())  // copied to aligned memory
    EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor.data()) % 2, 0u) << name;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(file.tensors().at("x").data()) % 4, 0u);
  EXPECT_EQ(file.tensors().at("y").to_f32(), std::vector<float>{-2.0f});  // f16 0xc000
}

// The 8-bit weight dtypes: I8 codes and F8_E4M3 codes (values of the codes, unscaled).
TEST(Safetensors, ReadsI8AndF8E4m3) {
  const std::string path = tmp_path("eight_bit.safetensors");
  const std::string header = R"({"q":{"dtype":"I8","shape":[1,3],"data_offsets":[0,3]},)"
                             R"("f":{"dtype":"F8_E4M3","shape":[3],"data_offsets":[3,6]}})";
  write_bytes(path, file_bytes(header, {0x7f, 0x81, 0x05, 0x38, 0xc0, 0x7e}));
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.tensors().at("q").dtype(), DType::kI8);
  EXPECT_EQ(file.tensors().at("q").to_f32(), (std::vector<float>{127.0f, -127.0f, 5.0f}));
  EXPECT_EQ(file.tensors().at("f").dtype(), DType::kF8_E4M3);
  EXPECT_EQ(file.tensors().at("f").to_f32(), (std::vector<float>{1.0f, -2.0f, 448.0f}));
  const std::string copy = tmp_path("eight_bit_copy.safetensors");
  write_safetensors(copy, {{"q", file.tensors().at("q")}, {"f", file.tensors().at("f")}});
  const SafetensorsFile back = SafetensorsFile::open(copy);
  EXPECT_EQ(back.tensors().at("f").to_f32(), (std::vector<float>{1.0f, -2.0f, 448.0f}));
  EXPECT_EQ(back.tensors().at("q").shape(), (std::vector<int64_t>{1, 3}));
}

TEST(Safetensors, UnsupportedDtypeNamesTensor) {
  const std::string path = tmp_path("i64.safetensors");
  write_bytes(path,
              file_bytes(R"({"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::vector<uint8_t>(8, 0)));
  EXPECT_EQ(error_of(path), path + ": tensor 'ids' has dtype I64, expected F32, F16, BF16, I8 or F8_E4M3");
}

TEST(Safetensors, TruncationAtEveryByteIsFormatError) {
  const std::string source = tmp_path("truncate_source.safetensors");
  write_safetensors(source,
                    {{"a", Tensor::from_f32({2, 2}, {1, 2, 3, 4})}, {"b", u16_tensor(DType::kBF16, {3}, {1, 2, 3})}},
                    {{"format", "pt"}});
  const std::vector<uint8_t> bytes = read_bytes(source);
  const std::string path = tmp_path("truncated.safetensors");
  for (size_t size = 0; size < bytes.size(); ++size) {
    write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + size));
    EXPECT_THROW(SafetensorsFile::open(path), FormatError) << "truncated to " << size;
  }
}

TEST(Safetensors, CorruptingAnyHeaderByteNeverCrashes) {
  const std::string source = tmp_path("corrupt_source.safetensors");
  write_safetensors(source, {{"a", Tensor::from_f32({2}, {1, 2})}}, {{"format", "pt"}});
  const std::vector<uint8_t> bytes = read_bytes(source);
  const std::string path = tmp_path("corrupt.safetensors");
  for (size_t pos = 0; pos + 8 < bytes.size(); ++pos) {
    for (uint8_t value : {0x00, 0x22, 0x7f, 0xff}) {
      std::vector<uint8_t> corrupt = bytes;
      corrupt[pos] = value;
      write_bytes(path, corrupt);
      try {
        SafetensorsFile::open(path);
      } catch (const FormatError&) {
      }  // any other exception type fails the test
    }
  }
}

TEST(Safetensors, RejectsMalformedHeaders) {
  const std::string path = tmp_path("malformed.safetensors");
  const std::vector<uint8_t> eight(8, 0);
  const struct {
    std::string header;
    std::string message;  // after "<path>: "
  } cases[] = {
      {R"({"a":)", "header is not valid JSON"},
      {R"([1,2])", "header is not a JSON object"},
      {R"({"a":{"shape":[2],"data_offsets":[0,8]}})", "tensor 'a' has no string 'dtype'"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
       "tensor 'a' has shape [-2], expected non-negative integers"},
      {R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})",
       "tensor 'a' has shape [2.0], expected non-negative integers"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", "tensor 'a' has no 'data_offsets' [begin, end]"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})",
       "tensor 'a' has data_offsets [8, 0], which end before they begin"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})",
       "tensor 'a' has data_offsets [0, 16] beyond the data area of 8 bytes"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
       "tensor 'a' has 8 bytes but shape [3] of F32 needs 3 x 4"},
      {R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})",
       "tensor 'a' has shape [4611686018427387904,4], more elements than int64 can count"},
      {R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}})",
       "tensor 'a' has data_offsets [4, 8], expected it to start at 0"},
      {R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
       R"("b":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}})",
       "tensor 'b' has data_offsets [2, 6], expected it to start at 4"},
      {R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})",
       "the tensors cover 4 bytes but the data area has 8"},
      {R"({"__metadata__":{"format":1}})", "__metadata__ value 'format' is not a string"},
      {R"({"__metadata__":[]})", "__metadata__ is not a JSON object"},
  };
  for (const auto& c : cases) {
    write_bytes(path, file_bytes(c.header, eight));
    const std::string message = error_of(path);
    EXPECT_EQ(message.rfind(path + ": " + c.message, 0), 0u) << c.header << "\n -> " << message;
  }
  Bytes huge_length;
  huge_length.u64(~0ull).raw("{}");
  write_bytes(path, huge_length.data());
  EXPECT_EQ(error_of(path), path +
                                ": truncated: the header length is 18446744073709551615 "
                                "bytes but only 2 follow it");
}

TEST(Safetensors, WriteRejectsOtherDtypesAndDuplicates) {
  const std::string path = tmp_path("rejected.safetensors");
  const Tensor q8 = Tensor::from_bytes(DType::kQ8_0, {1, 32}, std::vector<std::byte>(34));
  try {
    write_safetensors(path, {{"experts.w1", q8}});
    FAIL() << "no error";
  } catch (const FormatError& error) {
    EXPECT_EQ(std::string(error.what()),
              path + ": tensor 'experts.w1' has dtype q8_0, expected F32, F16, BF16, I8 or F8_E4M3");
  }
  const Tensor f = Tensor::from_f32({1}, {1});
  EXPECT_THROW(write_safetensors(path, {{"a", f}, {"a", f}}), FormatError);
  EXPECT_THROW(write_safetensors(path, {{"__metadata__", f}}), FormatError);
  EXPECT_FALSE(std::filesystem::exists(path));  // atomic: nothing left behind
}

}  // namespace
}  // namespace moe::io
