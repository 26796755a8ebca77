// Atomic file output: temporary file, then rename.
#include "core/output_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace moe {

OutputFile::OutputFile(std::string path)
    : path_(std::move(path)), tmp_path_(path_ + ".tmp." + std::to_string(::getpid())) {
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  MOE_CHECK(file_ != nullptr, IoError, path_, ": cannot create: ", std::strerror(errno));
}

OutputFile::~OutputFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) std::remove(tmp_path_.c_str());
}

void OutputFile::write(const void* data, size_t n) {
  if (n == 0) return;
  MOE_CHECK(std::fwrite(data, 1, n, file_) == n, IoError, path_, ": write failed: ", std::strerror(errno));
  position_ += static_cast<int64_t>(n);
}

void OutputFile::write_zeros(size_t n) {
  const std::vector<char> zeros(n, 0);
  write(zeros.data(), n);
}

void OutputFile::commit() {
  MOE_CHECK(std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0, IoError, path_,
            ": write failed: ", std::strerror(errno));
  std::fclose(file_);
  file_ = nullptr;
  MOE_CHECK(std::rename(tmp_path_.c_str(), path_.c_str()) == 0, IoError, path_,
            ": cannot rename into place: ", std::strerror(errno));
  committed_ = true;
}

}  // namespace moe
