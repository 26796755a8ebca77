// Tensor: a typed, row-major, read-only view of weights, usually borrowed from a memory-mapped file.
// Shapes are outermost-first as in PyTorch: a Linear weight is {out_features, in_features}, merged
// experts are {n_experts, rows, cols}. Blocks of quantized formats run along the last dimension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace moe {

class Tensor {
 public:
  Tensor() = default;
  // `owner` keeps the bytes alive (a mapped file or a heap buffer); may be null for static data.
  Tensor(DType dtype, std::vector<int64_t> shape, const std::byte* data,
         std::shared_ptr<const void> owner);
  // A tensor that owns a copy of `values` (f32).
  static Tensor from_f32(std::vector<int64_t> shape, std::vector<float> values);
  // A tensor that owns `bytes` laid out as `dtype` (size checked).
  static Tensor from_bytes(DType dtype, std::vector<int64_t> shape, std::vector<std::byte> bytes);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(int axis) const { return shape_.at(axis); }
  int n_dims() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const;
  int64_t cols() const { return shape_.empty() ? 1 : shape_.back(); }
  int64_t rows() const { return cols() == 0 ? 0 : numel() / cols(); }  // product of all but the last dim
  int64_t row_bytes() const;
  int64_t nbytes() const { return rows() * row_bytes(); }
  const std::byte* data() const { return data_; }
  const std::byte* row(int64_t index) const { return data_ + index * row_bytes(); }
  const float* f32() const;  // checks dtype == f32
  const std::shared_ptr<const void>& owner() const { return owner_; }
  bool empty() const { return data_ == nullptr; }

  // View of sub-tensor `index` along the first dimension ({E, R, C} -> {R, C}).
  Tensor select(int64_t index) const;
  // View of rows [begin, begin + count) of a 2-D tensor.
  Tensor slice_rows(int64_t begin, int64_t count) const;
  // Values converted to f32 (dequantized), row-major.
  std::vector<float> to_f32() const;

 private:
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  const std::byte* data_ = nullptr;
  std::shared_ptr<const void> owner_;
};

std::string shape_string(const std::vector<int64_t>& shape);  // "[8, 256, 512]"

}  // namespace moe
