// NumPy .npy files (format versions 1-3): the float arrays users hand to `moe route`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moe::io {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> values;  // C order
};

// True when the file starts with the .npy magic (then read_npy applies).
bool is_npy_file(const std::string& path);

// Reads a little-endian float32 or float64 array in C order; FormatError naming the file for any
// other dtype, Fortran order or a truncated body; IoError if it cannot be read.
NpyArray read_npy(const std::string& path);

}  // namespace moe::io
