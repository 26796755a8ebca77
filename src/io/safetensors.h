// safetensors files (Hugging Face): a validating memory-mapped reader and an atomic writer. Layout:
// u64 little-endian header length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets"},
// "__metadata__": {string: string}} padded with spaces, then the tensors' bytes tiling the rest.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace moe::io {

class SafetensorsFile {
 public:
  // Maps and validates the file; throws IoError if it cannot be read, FormatError (message
  // starting with the path and naming the tensor) for anything malformed or a dtype other than
  // F32, F16, BF16, I8 or F8_E4M3.
  static SafetensorsFile open(const std::string& path);

  // The tensors borrow the mapped file, except for any whose bytes are not aligned to their
  // element size: those are copied.
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` in the given order (F32, F16, BF16, I8 or F8_E4M3, else FormatError naming
// the tensor) with the header padded as Hugging Face's writer does; atomic: a failure leaves no
// file at `path`. Scales a tensor carries are not written (the model layer names them).
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace moe::io
