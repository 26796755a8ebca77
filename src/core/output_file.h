// OutputFile: writes to "<path>.tmp.<pid>" and renames over `path` only on commit(), so a failed or
// interrupted write never leaves a partial output file behind (the temporary is removed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace moe {

class OutputFile {
 public:
  explicit OutputFile(std::string path);  // throws IoError naming path
  ~OutputFile();                          // removes the temporary unless committed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, size_t n);  // throws IoError (disk full, ...)
  void write_zeros(size_t n);
  int64_t position() const { return position_; }
  void commit();  // flush, fsync, rename into place

 private:
  std::string path_;
  std::string tmp_path_;
  std::FILE* file_ = nullptr;
  int64_t position_ = 0;
  bool committed_ = false;
};

}  // namespace moe
