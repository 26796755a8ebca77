// Where a rank's piece of a tensor-parallel parameter sits in the full tensor: all of it, or block
// `index` of `count` equal blocks of rows (dim 0: Megatron's column-parallel linear, whose output
// features are split) or of columns (the last dim: the row-parallel linear, whose input features
// are split). Used to cut shards from full tensors, to put gathered shards back, and to map
// optimizer moments saved under one layout onto another.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moe::train {

struct TensorSlice {
  enum class Split { kNone, kRows, kCols };
  Split split = Split::kNone;
  int index = 0, count = 1;
  std::vector<int64_t> full_shape;  // the whole tensor's shape

  bool whole() const { return split == Split::kNone || count == 1; }
  // The shape of this block.
  std::vector<int64_t> local_shape() const;
  // Row-major element of the full tensor holding local element `local` of the block.
  int64_t full_index(int64_t local) const;
  // The block's elements out of the full tensor's, and the full tensor from its `count` blocks
  // laid end to end in index order.
  std::vector<float> cut(const std::vector<float>& full) const;
  std::vector<float> join(const std::vector<float>& blocks) const;
  // "rows 1/2" / "cols 0/4" ("" when whole), and back (full_shape taken from the caller).
  std::string describe() const;
  static TensorSlice parse(const std::string& text, std::vector<int64_t> full_shape, const std::string& where);
};

}  // namespace moe::train
