// Table of element types and the row-size arithmetic used by every file format and kernel.
#include "core/dtype.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace moe {

const DTypeInfo& dtype_info(DType dtype) {
  static const DTypeInfo kF32{"f32", 1, 4};
  static const DTypeInfo kF16{"f16", 1, 2};
  static const DTypeInfo kBF16{"bf16", 1, 2};
  static const DTypeInfo kQ8_0{"q8_0", 32, 34};
  static const DTypeInfo kQ4_0{"q4_0", 32, 18};
  static const DTypeInfo kQ4_K{"q4_K", 256, 144};
  static const DTypeInfo kQ6_K{"q6_K", 256, 210};
  static const DTypeInfo kQ2_K{"q2_K", 256, 84};
  static const DTypeInfo kQ3_K{"q3_K", 256, 110};
  static const DTypeInfo kQ5_K{"q5_K", 256, 176};
  static const DTypeInfo kI8{"i8", 1, 1};
  static const DTypeInfo kF8_E4M3{"f8_e4m3", 1, 1};
  switch (dtype) {
    case DType::kF32:
      return kF32;
    case DType::kF16:
      return kF16;
    case DType::kBF16:
      return kBF16;
    case DType::kQ8_0:
      return kQ8_0;
    case DType::kQ4_0:
      return kQ4_0;
    case DType::kQ4_K:
      return kQ4_K;
    case DType::kQ6_K:
      return kQ6_K;
    case DType::kQ2_K:
      return kQ2_K;
    case DType::kQ3_K:
      return kQ3_K;
    case DType::kQ5_K:
      return kQ5_K;
    case DType::kI8:
      return kI8;
    case DType::kF8_E4M3:
      return kF8_E4M3;
  }
  throw Error("internal error: unknown dtype");
}

bool dtype_from_gguf_id(uint32_t id, DType& out) {
  switch (id) {
    case 0:
      out = DType::kF32;
      return true;
    case 1:
      out = DType::kF16;
      return true;
    case 2:
      out = DType::kQ4_0;
      return true;
    case 8:
      out = DType::kQ8_0;
      return true;
    case 10:
      out = DType::kQ2_K;
      return true;
    case 11:
      out = DType::kQ3_K;
      return true;
    case 12:
      out = DType::kQ4_K;
      return true;
    case 13:
      out = DType::kQ5_K;
      return true;
    case 14:
      out = DType::kQ6_K;
      return true;
    case 30:
      out = DType::kBF16;
      return true;
    default:
      return false;
  }
}

DType dtype_from_name(const std::string& name, const std::string& option) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto lower_name = [](DType dtype) {
    std::string s = dtype_info(dtype).name;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  for (DType dtype :
       {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K})
    if (lower == lower_name(dtype)) return dtype;
  throw UsageError(
      detail::concat(option, ": unknown dtype '", name, "' (expected f32, f16, bf16, q8_0, q4_0, q4_K, q5_K or q6_K)"));
}

int64_t row_bytes(DType dtype, int64_t n_cols) {
  const DTypeInfo& info = dtype_info(dtype);
  MOE_CHECK(n_cols % info.block_elems == 0, FormatError, "row of ", n_cols, " elements is not a whole number of ",
            info.name, " blocks of ", info.block_elems);
  return n_cols / info.block_elems * info.block_bytes;
}

}  // namespace moe
