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
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
  // 8-bit weights of HF checkpoints (safetensors I8 / F8_E4M3), never in GGUF: the values are
  // codes that a per-row or per-tensor f32 scale multiplies (Tensor::scales()). 24 is ggml's
  // (unscaled) I8 id, which GGUF files never map to this; 0x100 is outside ggml's range.
  kI8 = 24,
  kF8_E4M3 = 0x100,
};

struct DTypeInfo {
  const char* name;     // "f32", "q8_0", ...
  int64_t block_elems;  // elements per block (1 for plain floats)
  int64_t block_bytes;  // bytes per block
};

const DTypeInfo& dtype_info(DType dtype);
// True if `id` is a GGUF type id we support.
bool dtype_from_gguf_id(uint32_t id, DType& out);
// True for the scaled 8-bit dtypes (i8, f8_e4m3), which only safetensors holds.
constexpr bool is_scaled_8bit(DType dtype) { return dtype == DType::kI8 || dtype == DType::kF8_E4M3; }
// Parses "f32", "F16", "bf16", "q8_0", "Q4_0", "q2_K", "Q6_K" ...; throws UsageError naming `option`.
DType dtype_from_name(const std::string& name, const std::string& option);
// Bytes of one row of `n_cols` elements; throws FormatError if n_cols is not a whole number of blocks.
int64_t row_bytes(DType dtype, int64_t n_cols);

// GGUF block formats: 32 weights per block, scale d in fp16.
constexpr int64_t kQBlock = 32;
struct BlockQ8_0 {
  uint16_t d;     // fp16 scale
  int8_t qs[32];  // w = d * q
};
struct BlockQ4_0 {
  uint16_t d;      // fp16 scale
  uint8_t qs[16];  // low nibbles hold weights 0..15, high nibbles 16..31; w = d * (q - 8)
};
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);

// llama.cpp's k-quants: super-blocks of 256 weights in sub-blocks with their own integer scales.
constexpr int64_t kQKBlock = 256;
// 8 sub-blocks of 32 weights; sub-block j has a 6-bit scale sc_j and 6-bit min m_j, and its
// weights are w = d sc_j q - dmin m_j with q in 0..15.
struct BlockQ4_K {
  uint16_t d;          // fp16 scale of the sub-block scales
  uint16_t dmin;       // fp16 scale of the sub-block mins
  uint8_t scales[12];  // j < 4: sc_j in bits 0..5 of byte j, m_j in bits 0..5 of byte j + 4;
                       // j >= 4: low 4 bits of sc_j / m_j in the low / high nibble of byte j + 4,
                       // their top 2 bits in bits 6..7 of byte j - 4 / byte j
  uint8_t qs[128];     // 4 runs of 32 bytes, run k holding sub-block 2k in the low nibbles and
                       // sub-block 2k + 1 in the high ones
};
// 16 sub-blocks of 16 weights; weight e is w = d scales[e / 16] (q - 32) with a 6-bit q.
struct BlockQ6_K {
  uint8_t ql[128];    // low 4 bits: halves of 128 weights, 64 bytes each; weight 32 i + l of a
                      // half is in byte l + 32 (i & 1), low nibble for i < 2, high for i >= 2
  uint8_t qh[64];     // high 2 bits: 32 bytes per half, weight 32 i + l in bits 2i..2i+1 of byte l
  int8_t scales[16];  // sub-block scales
  uint16_t d;         // fp16 super-block scale
};
// As q4_K with a fifth bit: w = d sc_j q - dmin m_j with q in 0..31.
struct BlockQ5_K {
  uint16_t d;          // fp16 scale of the sub-block scales
  uint16_t dmin;       // fp16 scale of the sub-block mins
  uint8_t scales[12];  // packed as BlockQ4_K::scales
  uint8_t qh[32];      // high bits: weight l of sub-block j in bit j of byte l
  uint8_t qs[128];     // low 4 bits, as BlockQ4_K::qs
};
// 16 sub-blocks of 16 weights; weight e is w = d (s_{e/16} - 32) q with a 6-bit s and q in -4..3.
struct BlockQ3_K {
  uint8_t hmask[32];   // weight e's high bit in bit e / 32 of byte e % 32; q = low - 4 where it is 0
  uint8_t qs[64];      // low 2 bits: weight e = 128 h + 32 k + l in bits 2k..2k+1 of byte 32 h + l
  uint8_t scales[12];  // s_i: i < 8 low nibble of byte i, i >= 8 high nibble of byte i - 8;
                       // its top 2 bits in bits 2 (i / 4)..2 (i / 4) + 1 of byte 8 + i % 4
  uint16_t d;          // fp16 super-block scale
};
// 16 sub-blocks of 16 weights; weight e is w = d sc_i q - dmin m_i, i = e / 16, q in 0..3.
struct BlockQ2_K {
  uint8_t scales[16];  // sc_i in the low nibble of byte i, m_i in the high one
  uint8_t qs[64];      // q of weight e = 128 h + 32 k + l in bits 2k..2k+1 of byte 32 h + l
  uint16_t d;          // fp16 scale of the sub-block scales
  uint16_t dmin;       // fp16 scale of the sub-block mins
};
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ2_K) == 84);

}  // namespace moe
