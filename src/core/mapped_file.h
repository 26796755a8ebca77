// MappedFile: a read-only memory map of a whole file (RAII). Tensors borrow its bytes and keep it
// alive through a shared_ptr, so only the pages a rank touches are ever read from disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace moe {

class MappedFile {
 public:
  // Throws IoError naming `path` if it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the pages wholly inside [begin, begin + size) of a mapping from this process's memory
  // (madvise MADV_DONTNEED): the bytes stay readable, a later read maps them again.
  static void release_pages(const std::byte* begin, int64_t size);

 private:
  MappedFile(std::string path, const std::byte* data, int64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const std::byte* data_;
  int64_t size_;
};

}  // namespace moe
