// Crash-safe file and directory output: temporary, fsync, rename, fsync of the directory.
#include "core/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace moe {
namespace fs = std::filesystem;

namespace {

std::string temporary_name(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

std::string parent_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  MOE_CHECK(fd >= 0, IoError, dir, ": cannot open the directory to sync it: ", std::strerror(errno));
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  MOE_CHECK(synced, IoError, dir, ": cannot sync the directory: ", std::strerror(error));
}

int64_t temporary_owner(const std::string& name) {
  const size_t at = name.rfind(".tmp.");
  if (at == std::string::npos || at + 5 == name.size() || name.size() - at > 5 + 18) return 0;
  int64_t pid = 0;
  for (size_t i = at + 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    pid = pid * 10 + (name[i] - '0');
  }
  return pid;
}

OutputFile::OutputFile(std::string path) : path_(std::move(path)), tmp_path_(temporary_name(path_)) {
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
  const int closed = std::fclose(file_);
  file_ = nullptr;
  MOE_CHECK(closed == 0, IoError, path_, ": write failed: ", std::strerror(errno));
  MOE_CHECK(std::rename(tmp_path_.c_str(), path_.c_str()) == 0, IoError, path_,
            ": cannot rename into place: ", std::strerror(errno));
  committed_ = true;
  sync_directory(parent_of(path_));
}

OutputDirectory::OutputDirectory(std::string path) : path_(std::move(path)), tmp_path_(temporary_name(path_)) {
  std::error_code error;
  fs::remove_all(tmp_path_, error);
  fs::create_directories(tmp_path_, error);
  MOE_CHECK(!error, IoError, path_, ": cannot create ", tmp_path_, ": ", error.message());
}

OutputDirectory::~OutputDirectory() {
  std::error_code error;
  if (!committed_) fs::remove_all(tmp_path_, error);
}

void OutputDirectory::commit() {
  sync_directory(tmp_path_);
  MOE_CHECK(std::rename(tmp_path_.c_str(), path_.c_str()) == 0, IoError, path_,
            ": cannot rename into place: ", std::strerror(errno));
  committed_ = true;
  sync_directory(parent_of(path_));
}

}  // namespace moe
