// GgufFile::open: parses a memory-mapped GGUF file, bounds-checking every read and validating every
// count, shape and offset before a tensor view is made, so that no input can crash the reader.
#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "core/error.h"
#include "io/byte_io.h"
#include "io/gguf.h"

namespace moe::io {
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
// The smallest encodings, which bound the counts in the header by the bytes that follow.
constexpr int64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;        // key length, key, type id, a uint8
constexpr int64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name length, n_dims, ne, type, offset
constexpr uint32_t kMaxDims = 4;

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;  // outermost first
  int64_t nbytes;
  uint64_t offset;  // from the start of the data section
};

int64_t align_up(int64_t n, int64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

TensorInfo read_tensor_info(ByteReader& reader) {
  TensorInfo info;
  info.name = std::string(reader.read_string("a tensor name"));
  const std::string where = detail::concat(reader.source(), ": tensor '", info.name, "'");
  const std::string what = detail::concat("the info of tensor '", info.name, "'");
  const uint32_t n_dims = reader.read<uint32_t>(what);
  MOE_CHECK(n_dims >= 1 && n_dims <= kMaxDims, FormatError, where, " has ", n_dims, " dimensions, expected 1 to ",
            kMaxDims);
  std::vector<int64_t> ne(n_dims);
  int64_t numel = 1;
  for (uint32_t dim = 0; dim < n_dims; ++dim) {
    const uint64_t extent = reader.read<uint64_t>(what);
    MOE_CHECK(extent <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), FormatError, where, " has ", extent,
              " elements along ne[", dim, "]");
    ne[dim] = static_cast<int64_t>(extent);
    MOE_CHECK(!__builtin_mul_overflow(numel, ne[dim], &numel), FormatError, where,
              " has more elements than int64 can count");
  }
  const uint32_t type_id = reader.read<uint32_t>(what);
  MOE_CHECK(dtype_from_gguf_id(type_id, info.dtype), FormatError, where, " has ggml type ", type_id, " (",
            ggml_type_name(type_id), "), which moe.cpp does not read yet");
  const DTypeInfo& dtype = dtype_info(info.dtype);
  MOE_CHECK(ne[0] % dtype.block_elems == 0, FormatError, where, " has rows of ", ne[0],
            " elements, not a whole number of ", dtype.name, " blocks of ", dtype.block_elems);
  MOE_CHECK(!__builtin_mul_overflow(numel / dtype.block_elems, dtype.block_bytes, &info.nbytes), FormatError, where,
            " has more bytes than int64 can count");
  info.offset = reader.read<uint64_t>(what);
  info.shape.assign(ne.rbegin(), ne.rend());
  return info;
}

}  // namespace

GgufFile GgufFile::open(const std::string& path) {
  GgufFile file;
  file.path_ = path;
  file.file_ = MappedFile::open(path);
  const std::byte* base = file.file_->data();
  const int64_t size = file.file_->size();
  MOE_CHECK(size == 0 || std::memcmp(base, kMagic, std::min<int64_t>(size, 4)) == 0, FormatError, path,
            ": not a GGUF file (bad magic)");

  ByteReader reader(base, size, path);
  reader.take(4, "the GGUF magic");
  const uint32_t version = reader.read<uint32_t>("the GGUF version");
  MOE_CHECK(version == 2 || version == 3, FormatError, path, ": GGUF version ", version,
            " is not supported (expected 2 or 3)");
  const uint64_t n_tensors = reader.read<uint64_t>("the tensor count");
  const uint64_t n_kv = reader.read<uint64_t>("the key/value count");
  MOE_CHECK(n_kv <= static_cast<uint64_t>(reader.remaining() / kMinKeyValueBytes), FormatError, path,
            ": truncated: the header claims ", n_kv, " key/value pairs but only ", reader.remaining(), " bytes follow");
  MOE_CHECK(n_tensors <= static_cast<uint64_t>(reader.remaining() / kMinTensorInfoBytes), FormatError, path,
            ": truncated: the header claims ", n_tensors, " tensors but only ", reader.remaining(), " bytes follow");

  file.metadata_ = GgufMetadata::read(reader, n_kv);
  file.alignment_ = gguf_alignment(file.metadata_);

  std::vector<TensorInfo> infos;
  infos.reserve(n_tensors);
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    infos.push_back(read_tensor_info(reader));
    MOE_CHECK(names.insert(infos.back().name).second, FormatError, path, ": duplicate tensor name '", infos.back().name,
              "'");
  }

  file.data_offset_ = align_up(reader.position(), file.alignment_);
  // llama.cpp pads to the data section even without tensors, but only requires it with some.
  MOE_CHECK(n_tensors == 0 || file.data_offset_ <= size, FormatError, path,
            ": truncated: the data section starts at byte ", file.data_offset_, " but the file has ", size);
  const int64_t available = size - file.data_offset_;
  for (const TensorInfo& info : infos) {
    MOE_CHECK(info.offset % static_cast<uint64_t>(file.alignment_) == 0, FormatError, path, ": tensor '", info.name,
              "' starts at data offset ", info.offset, ", not a multiple of the alignment ", file.alignment_);
    // Each tensor is followed by padding to the alignment, as llama.cpp reads it.
    const bool fits = info.offset <= static_cast<uint64_t>(available) &&
                      info.nbytes <= available - static_cast<int64_t>(info.offset) &&
                      align_up(info.nbytes, file.alignment_) <= available - static_cast<int64_t>(info.offset);
    MOE_CHECK(fits, FormatError, path, ": truncated: tensor '", info.name, "' needs ", info.nbytes,
              " bytes and padding at data offset ", info.offset, " but the data", " section has ", available);
    const std::byte* data = base + file.data_offset_ + static_cast<int64_t>(info.offset);
    file.tensors_.emplace(info.name, Tensor::mapped(info.dtype, info.shape, data, file.file_));
    file.tensor_names_.push_back(info.name);
  }
  return file;
}

int64_t GgufFile::tensor_offset(const std::string& name) const {
  const auto it = tensors_.find(name);
  MOE_CHECK(it != tensors_.end(), FormatError, path_, ": no tensor '", name, "'");
  return it->second.data() - file_->data();
}

}  // namespace moe::io
