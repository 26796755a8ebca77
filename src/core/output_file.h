// Crash-safe outputs. OutputFile writes to "<path>.tmp.<pid>" and, on commit(), fsyncs it, renames
// it over `path` and fsyncs the directory, so a failed or interrupted write never leaves a partial
// file at `path` (the temporary is removed on failure; a killed process leaves only the temporary).
// OutputDirectory does the same for a new directory of files: they are written under
// "<path>.tmp.<pid>", which commit() renames to `path` once complete.
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

  void write(const void* data, size_t n);  // throws IoError (disk full, file too large, ...)
  void write_zeros(size_t n);
  int64_t position() const { return position_; }
  void commit();  // flush, fsync, rename into place, fsync the directory

 private:
  std::string path_;
  std::string tmp_path_;
  std::FILE* file_ = nullptr;
  int64_t position_ = 0;
  bool committed_ = false;
};

class OutputDirectory {
 public:
  explicit OutputDirectory(std::string path);  // creates the temporary directory; throws IoError
  ~OutputDirectory();                          // removes the temporary unless committed
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  const std::string& staging() const { return tmp_path_; }  // where the files are written
  void commit();  // fsync the temporary, rename it to `path`, fsync the parent

 private:
  std::string path_;
  std::string tmp_path_;
  bool committed_ = false;
};

// fsync of a directory, so that the entries created or renamed in it survive a power loss.
void sync_directory(const std::string& dir);  // throws IoError naming dir

// The process id in a temporary's name ("name.tmp.<pid>"), or 0 for a name of another form.
int64_t temporary_owner(const std::string& name);

}  // namespace moe
