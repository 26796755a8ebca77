// GgufWriter: lays out GGUF v3 as llama.cpp's gguf_write_to_file and gguf-py do (offsets of padded
// tensors in add order, zero padding to the alignment after the infos and after every tensor).
#include "core/error.h"
#include "core/output_file.h"
#include "io/byte_io.h"
#include "io/gguf.h"

namespace moe::io {
namespace {

constexpr uint32_t kVersion = 3;

int64_t padding(int64_t n, int64_t alignment) { return (alignment - n % alignment) % alignment; }

}  // namespace

void GgufWriter::add_tensor(const std::string& name, const Tensor& tensor) {
  MOE_CHECK(!name.empty() && name.size() <= kGgufMaxNameBytes, FormatError, "tensor '", name,
            "': GGUF tensor names must have 1 to ", kGgufMaxNameBytes, " bytes");
  MOE_CHECK(tensor.n_dims() >= 1 && tensor.n_dims() <= 4, FormatError, "tensor '", name, "' has shape ",
            shape_string(tensor.shape()), "; GGUF holds 1 to 4 dimensions");
  const DTypeInfo& dtype = dtype_info(tensor.dtype());
  MOE_CHECK(!is_scaled_8bit(tensor.dtype()), FormatError, "tensor '", name, "' is ", dtype.name,
            ", which GGUF cannot hold (llama.cpp has no scaled 8-bit type)");
  MOE_CHECK(tensor.cols() % dtype.block_elems == 0, FormatError, "tensor '", name, "' has rows of ", tensor.cols(),
            " elements, not a whole number of ", dtype.name, " blocks of ", dtype.block_elems);
  MOE_CHECK(!tensor.empty() || tensor.nbytes() == 0, FormatError, "tensor '", name, "' has no data");
  MOE_CHECK(names_.insert(name).second, FormatError, "tensor '", name, "' added twice");
  tensors_.emplace_back(name, tensor);
}

void GgufWriter::write(const std::string& path) const {
  const int64_t alignment = gguf_alignment(metadata_);
  std::vector<std::byte> head;
  for (char c : {'G', 'G', 'U', 'F'}) head.push_back(static_cast<std::byte>(c));
  append<uint32_t>(head, kVersion);
  append<uint64_t>(head, tensors_.size());
  append<uint64_t>(head, static_cast<uint64_t>(metadata_.size()));
  metadata_.append_to(head);
  int64_t offset = 0;
  for (const auto& [name, tensor] : tensors_) {
    append_string(head, name);
    append<uint32_t>(head, static_cast<uint32_t>(tensor.n_dims()));
    for (int dim = tensor.n_dims() - 1; dim >= 0; --dim) append<uint64_t>(head, static_cast<uint64_t>(tensor.dim(dim)));
    append<uint32_t>(head, static_cast<uint32_t>(tensor.dtype()));
    append<uint64_t>(head, static_cast<uint64_t>(offset));
    offset += tensor.nbytes() + padding(tensor.nbytes(), alignment);
  }
  head.resize(head.size() + padding(static_cast<int64_t>(head.size()), alignment));

  OutputFile out(path);
  out.write(head.data(), head.size());
  for (const auto& entry : tensors_) {
    const Tensor& tensor = entry.second;
    out.write(tensor.data(), static_cast<size_t>(tensor.nbytes()));
    out.write_zeros(static_cast<size_t>(padding(tensor.nbytes(), alignment)));
  }
  out.commit();
}

}  // namespace moe::io
