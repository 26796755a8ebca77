// Element types of weights and activations, with their block layout (GGUF block formats).
#pragma once

#include <cstdint>
#include <string>

namespace moe {

// Values are GGUF's ggml_type ids so that the GGUF reader/writer can cast directly.
enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kBF16 = 30,
};

struct DTypeInfo {
  const char* name;     // "f32", "q8_0", ...
  int64_t block_elems;  // elements per block (1 for plain floats)
  int64_t block_bytes;  // bytes per block
};

const DTypeInfo& dtype_info(DType dtype);
// True if `id` is a GGUF type id we support.
bool dtype_from_gguf_id(uint32_t id, DType& out);
// Parses "f32", "F16", "bf16", "q8_0", "Q4_0" ...; throws UsageError naming `option`.
DType dtype_from_name(const std::string& name, const std::string& option);
// Bytes of one row of `n_cols` elements; throws FormatError if n_cols is not a whole number of blocks.
int64_t row_bytes(DType dtype, int64_t n_cols);

// GGUF block formats: 32 weights per block, scale d in fp16.
constexpr int64_t kQBlock = 32;
struct BlockQ8_0 {
  uint16_t d;       // fp16 scale
  int8_t qs[32];    // w = d * q
};
struct BlockQ4_0 {
  uint16_t d;       // fp16 scale
  uint8_t qs[16];   // low nibbles hold weights 0..15, high nibbles 16..31; w = d * (q - 8)
};
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);

}  // namespace moe
