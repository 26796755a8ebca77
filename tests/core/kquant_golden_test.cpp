// dequantize_row of every k-quant against llama.cpp's gguf-py decoders, bit for bit, on seeded
// random blocks (tests/golden/kquant_blocks.json, written by tests/reference/kquant_reference.py).
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/quantize.h"

namespace moe {
namespace {

std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::byte>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return bytes;
}

TEST(KQuantGolden, DequantizeRowMatchesGgufPyBitForBit) {
  std::ifstream file(MOE_GOLDEN_DIR "/kquant_blocks.json");
  ASSERT_TRUE(file) << "missing " MOE_GOLDEN_DIR "/kquant_blocks.json";
  const nlohmann::json golden = nlohmann::json::parse(file);
  const int64_t n_blocks = golden.at("block_count").get<int64_t>();
  int checked = 0;
  for (DType dtype : {DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const std::string name = dtype_info(dtype).name;
    SCOPED_TRACE(name);
    const nlohmann::json& c = golden.at("formats").at(name);
    const std::vector<std::byte> blocks = from_hex(c.at("blocks").get<std::string>());
    const auto bits = c.at("bits").get<std::vector<uint32_t>>();
    const int64_t n = n_blocks * kQKBlock;
    ASSERT_EQ(static_cast<int64_t>(blocks.size()), row_bytes(dtype, n));
    ASSERT_EQ(static_cast<int64_t>(bits.size()), n);
    std::vector<float> values(n);
    dequantize_row(dtype, blocks.data(), values.data(), n);
    int mismatches = 0;
    for (int64_t i = 0; i < n; ++i)
      if (std::bit_cast<uint32_t>(values[i]) != bits[i] && ++mismatches <= 5)
        ADD_FAILURE() << "weight " << i << ": " << values[i] << " != " << std::bit_cast<float>(bits[i]);
    EXPECT_EQ(mismatches, 0);
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

// The GGUF type ids and block sizes are ggml's (ggml-common.h's static_asserts).
TEST(KQuantGolden, TypeIdsAndBlockSizes) {
  for (auto [id, dtype, bytes] :
       {std::tuple{10u, DType::kQ2_K, 84}, std::tuple{11u, DType::kQ3_K, 110}, std::tuple{12u, DType::kQ4_K, 144},
        std::tuple{13u, DType::kQ5_K, 176}, std::tuple{14u, DType::kQ6_K, 210}}) {
    DType parsed;
    ASSERT_TRUE(dtype_from_gguf_id(id, parsed)) << id;
    EXPECT_EQ(parsed, dtype);
    EXPECT_EQ(dtype_info(dtype).block_elems, 256);
    EXPECT_EQ(dtype_info(dtype).block_bytes, bytes);
  }
}

}  // namespace
}  // namespace moe
