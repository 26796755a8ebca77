// Tensor views: shape arithmetic, sub-views, and conversion to f32.
#include "core/tensor.h"

#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/quantize.h"

namespace moe {

Tensor::Tensor(DType dtype, std::vector<int64_t> shape, const std::byte* data, std::shared_ptr<const void> owner)
    : dtype_(dtype), shape_(std::move(shape)), data_(data), owner_(std::move(owner)) {}

Tensor Tensor::mapped(DType dtype, std::vector<int64_t> shape, const std::byte* data,
                      std::shared_ptr<const MappedFile> file) {
  Tensor t(dtype, std::move(shape), data, std::move(file));
  t.file_mapped_ = true;
  return t;
}

Tensor Tensor::from_f32(std::vector<int64_t> shape, std::vector<float> values) {
  auto storage = std::make_shared<std::vector<float>>(std::move(values));
  Tensor t(DType::kF32, std::move(shape), reinterpret_cast<const std::byte*>(storage->data()), storage);
  MOE_ASSERT(static_cast<int64_t>(storage->size()) == t.numel());
  return t;
}

Tensor Tensor::from_bytes(DType dtype, std::vector<int64_t> shape, std::vector<std::byte> bytes) {
  auto storage = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  Tensor t(dtype, std::move(shape), storage->data(), storage);
  MOE_ASSERT(static_cast<int64_t>(storage->size()) == t.nbytes());
  return t;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

int64_t Tensor::row_bytes() const { return moe::row_bytes(dtype_, cols()); }

const float* Tensor::f32() const {
  MOE_ASSERT(dtype_ == DType::kF32);
  return reinterpret_cast<const float*>(data_);
}

Tensor Tensor::select(int64_t index) const {
  MOE_ASSERT(n_dims() >= 2 && index >= 0 && index < shape_[0] && !scales_);
  std::vector<int64_t> sub(shape_.begin() + 1, shape_.end());
  int64_t sub_rows = 1;
  for (size_t i = 0; i + 1 < sub.size(); ++i) sub_rows *= sub[i];
  Tensor view(dtype_, std::move(sub), data_ + index * sub_rows * row_bytes(), owner_);
  view.file_mapped_ = file_mapped_;
  return view;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t count) const {
  MOE_ASSERT(n_dims() == 2 && begin >= 0 && count >= 0 && begin + count <= shape_[0]);
  Tensor view(dtype_, {count, shape_[1]}, data_ + begin * row_bytes(), owner_);
  view.file_mapped_ = file_mapped_;
  view.scales_ = scales_;
  view.scale_row0_ = scale_row0_ + begin;
  view.observer_ = observer_;
  return view;
}

Tensor Tensor::with_panels(std::shared_ptr<const std::vector<std::byte>> panels) const {
  MOE_ASSERT(n_dims() == 2 && panels != nullptr);
  Tensor view = *this;
  view.panels_ = std::move(panels);
  return view;
}

void Tensor::release_pages() const {
  if (file_mapped_) MappedFile::release_pages(data_, nbytes());
}

std::vector<float> Tensor::to_f32() const {
  std::vector<float> out(numel());
  for (int64_t r = 0; r < rows(); ++r) {
    float* values = out.data() + r * cols();
    dequantize_row(dtype_, row(r), values, cols());
    if (scales_)
      for (int64_t c = 0; c < cols(); ++c) values[c] *= row_scale(r);
  }
  return out;
}

Tensor Tensor::with_scales(QuantScales scales) const {
  MOE_CHECK(n_dims() == 2 && is_scaled_8bit(dtype_), FormatError, "scales given for a ", dtype_info(dtype_).name,
            " tensor of shape ", shape_string(shape_), " (only 2-D i8 / f8_e4m3 weights take them)");
  const auto n = static_cast<int64_t>(scales.weight.size());
  MOE_CHECK(n == rows() || n == 1, FormatError, "weight_scale has ", n, " entries for a weight of ", rows(),
            " rows (expected ", rows(), " or 1)");
  Tensor view = *this;
  view.scales_ = std::make_shared<const QuantScales>(std::move(scales));
  view.scale_row0_ = 0;
  return view;
}

QuantScales Tensor::scales() const {
  if (!scales_) return {};
  if (scales_->weight.size() == 1) return *scales_;
  QuantScales view{{}, scales_->input};
  for (int64_t r = 0; r < rows(); ++r) view.weight.push_back(row_scale(r));
  return view;
}

Tensor Tensor::with_observer(std::shared_ptr<InputObserver> observer) const {
  Tensor view = *this;
  view.observer_ = std::move(observer);
  return view;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

}  // namespace moe
