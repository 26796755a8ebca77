// GGUF v3 files exactly as llama.cpp reads and writes them: GgufFile, a validating memory-mapped
// reader, and GgufWriter. Layout: "GGUF", version u32, tensor count u64, key/value count u64,
// key/value pairs, tensor infos (name, n_dims u32, ne[] u64 innermost first, ggml type u32,
// offset u64), zero padding to general.alignment, then each tensor's bytes padded likewise.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "io/gguf_metadata.h"

namespace moe::io {

constexpr int64_t kGgufDefaultAlignment = 32;
constexpr size_t kGgufMaxNameBytes = 63;  // llama.cpp's GGML_MAX_NAME, less the terminating NUL

// general.alignment of `metadata`, or 32 when unset; throws FormatError unless it is a uint32
// power of two (llama.cpp rejects any other).
int64_t gguf_alignment(const GgufMetadata& metadata);
// ggml's name of a type id ("q6_K" for 14), or "unknown".
const char* ggml_type_name(uint32_t id);

class GgufFile {
 public:
  // Maps and validates the whole file; throws IoError if it cannot be read, FormatError (message
  // starting with the path) for anything malformed or a tensor type moe.cpp does not read.
  static GgufFile open(const std::string& path);

  const GgufMetadata& metadata() const { return metadata_; }
  // Shapes are outermost-first (ne reversed); the tensors borrow the mapped file.
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  const std::vector<std::string>& tensor_names() const { return tensor_names_; }  // file order
  const std::string& path() const { return path_; }
  int64_t alignment() const { return alignment_; }
  int64_t data_offset() const { return data_offset_; }  // file offset of the data section
  // File offset of a tensor's first byte.
  int64_t tensor_offset(const std::string& name) const;

 private:
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  GgufMetadata metadata_;
  std::map<std::string, Tensor> tensors_;
  std::vector<std::string> tensor_names_;
  int64_t alignment_ = kGgufDefaultAlignment;
  int64_t data_offset_ = 0;
};

class GgufWriter {
 public:
  GgufMetadata& metadata() { return metadata_; }
  const GgufMetadata& metadata() const { return metadata_; }
  // Adds a tensor, written in add order; throws FormatError for a duplicate or over-long name or
  // a shape GGUF cannot hold (1 to 4 dimensions). The tensor's owner keeps its bytes alive.
  void add_tensor(const std::string& name, const Tensor& tensor);
  // Writes GGUF v3 atomically, streaming tensor bytes straight from their sources.
  void write(const std::string& path) const;

 private:
  GgufMetadata metadata_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
  std::set<std::string> names_;
};

}  // namespace moe::io
