// Index arithmetic of tensor-parallel blocks.
#include "train/tensor_slice.h"

#include <sstream>

#include "core/error.h"

namespace moe::train {
namespace {

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

std::vector<int64_t> TensorSlice::local_shape() const {
  std::vector<int64_t> shape = full_shape;
  if (whole()) return shape;
  int64_t& dim = split == Split::kRows ? shape.front() : shape.back();
  MOE_ASSERT(dim % count == 0);
  dim /= count;
  return shape;
}

int64_t TensorSlice::full_index(int64_t local) const {
  if (whole()) return local;
  if (split == Split::kRows) return index * (product(full_shape) / count) + local;
  const int64_t cols = full_shape.back(), local_cols = cols / count;
  return (local / local_cols) * cols + index * local_cols + local % local_cols;
}

std::vector<float> TensorSlice::cut(const std::vector<float>& full) const {
  MOE_ASSERT(static_cast<int64_t>(full.size()) == product(full_shape));
  if (whole()) return full;
  std::vector<float> block(product(local_shape()));
  for (int64_t i = 0; i < static_cast<int64_t>(block.size()); ++i) block[i] = full[full_index(i)];
  return block;
}

std::vector<float> TensorSlice::join(const std::vector<float>& blocks) const {
  const int64_t n = product(full_shape);
  MOE_ASSERT(static_cast<int64_t>(blocks.size()) == n);
  if (whole()) return blocks;
  std::vector<float> full(n);
  const int64_t per_block = n / count;
  TensorSlice at = *this;
  for (at.index = 0; at.index < count; ++at.index)
    for (int64_t i = 0; i < per_block; ++i) full[at.full_index(i)] = blocks[at.index * per_block + i];
  return full;
}

std::string TensorSlice::describe() const {
  if (whole()) return "";
  return detail::concat(split == Split::kRows ? "rows " : "cols ", index, "/", count);
}

TensorSlice TensorSlice::parse(const std::string& text, std::vector<int64_t> full_shape, const std::string& where) {
  TensorSlice slice;
  slice.full_shape = std::move(full_shape);
  if (text.empty()) return slice;
  std::istringstream in(text);
  std::string kind;
  char slash = 0;
  in >> kind >> slice.index >> slash >> slice.count;
  MOE_CHECK(in && slash == '/' && (kind == "rows" || kind == "cols") && slice.count >= 1 && slice.index >= 0 &&
                slice.index < slice.count && !slice.full_shape.empty(),
            FormatError, where, ": bad tensor-parallel slice '", text, "' (expected 'rows I/N' or 'cols I/N')");
  slice.split = kind == "rows" ? Split::kRows : Split::kCols;
  const int64_t dim = slice.split == Split::kRows ? slice.full_shape.front() : slice.full_shape.back();
  MOE_CHECK(dim % slice.count == 0, FormatError, where, ": slice '", text, "' does not divide dimension ", dim);
  return slice;
}

}  // namespace moe::train
