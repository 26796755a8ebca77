// Tensor: a typed, row-major, read-only view of weights, usually borrowed from a memory-mapped file.
// Shapes are outermost-first as in PyTorch: a Linear weight is {out_features, in_features}, merged
// experts are {n_experts, rows, cols}. Blocks of quantized formats run along the last dimension.
// A 2-D weight may carry the scales of the i8 / f8_e4m3 dtypes, an observer of its inputs, and a
// copy of its values in the matmul kernels' panel layout (kernels/matmul/matmul_panels.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace moe {

class MappedFile;

// Scales of an i8 / f8_e4m3 weight (HF "weight_scale" and "input_scale"): element (r, c) is
// weight[r] * code(r, c) with one scale per output row, or weight[0] * code(r, c) for the tensor.
struct QuantScales {
  std::vector<float> weight;   // rows() entries, or 1
  std::optional<float> input;  // static activation scale: matmul multiplies the codes of
                               // x / input (in the weight's dtype), then scales by input; unset:
                               // activations stay f32 (weight-only)
};

// Sees the activations a weight is multiplied with, before the product (the calibration of static
// activation scales). matmul() calls it for weights that carry one; its calls may come from any
// thread of the calling one's pool, but never concurrently for one matmul call.
class InputObserver {
 public:
  virtual ~InputObserver() = default;
  // n_rows activation rows of `cols` values, row t at x + t * ldx.
  virtual void observe(const float* x, int64_t ldx, int64_t n_rows, int64_t cols) = 0;
};

class Tensor {
 public:
  Tensor() = default;
  // `owner` keeps the bytes alive (a mapped file or a heap buffer); may be null for static data.
  Tensor(DType dtype, std::vector<int64_t> shape, const std::byte* data, std::shared_ptr<const void> owner);
  // A view of bytes in a mapped file (release_pages() can then give its pages back).
  static Tensor mapped(DType dtype, std::vector<int64_t> shape, const std::byte* data,
                       std::shared_ptr<const MappedFile> file);
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
  // Values converted to f32 (dequantized, times the scales), row-major.
  std::vector<float> to_f32() const;

  // The same view with i8 / f8_e4m3 scales (2-D, scaled dtype, weight.size() == rows() or 1:
  // else FormatError naming the sizes).
  Tensor with_scales(QuantScales scales) const;
  bool has_scales() const { return scales_ != nullptr; }
  // This view's scales (per-row entries of its rows only); empty weight when it has none.
  QuantScales scales() const;
  float row_scale(int64_t row) const {
    if (!scales_) return 1.0f;
    return scales_->weight.size() == 1 ? scales_->weight[0] : scales_->weight[scale_row0_ + row];
  }
  std::optional<float> input_scale() const { return scales_ ? scales_->input : std::nullopt; }
  // The same view with `panels`, its values in the matmul kernels' panel layout (2-D only; views
  // taken from it by select() / slice_rows() drop them).
  Tensor with_panels(std::shared_ptr<const std::vector<std::byte>> panels) const;
  const std::byte* panels() const { return panels_ ? panels_->data() : nullptr; }
  // Gives the pages wholly inside this view's bytes back to the kernel when they come from a
  // mapped file (a later read maps them again from the page cache); no-op otherwise. For weights
  // whose panels now serve every matmul: the resident copy is then the panels only.
  void release_pages() const;
  // The same view with an observer of its matmul inputs.
  Tensor with_observer(std::shared_ptr<InputObserver> observer) const;
  InputObserver* observer() const { return observer_.get(); }

 private:
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  const std::byte* data_ = nullptr;
  std::shared_ptr<const void> owner_;
  std::shared_ptr<const QuantScales> scales_;  // shared by the views of one weight
  int64_t scale_row0_ = 0;                     // the first row of this view, for per-row scales
  std::shared_ptr<InputObserver> observer_;
  std::shared_ptr<const std::vector<std::byte>> panels_;
  bool file_mapped_ = false;  // data_ lies in a MappedFile (owner_)
};

std::string shape_string(const std::vector<int64_t>& shape);  // "[8, 256, 512]"

}  // namespace moe
