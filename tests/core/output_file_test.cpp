// OutputFile and OutputDirectory: an output appears whole at its path on commit and not at all
// otherwise; temporaries are named so that a later run can tell whose they are.
#include "core/output_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace moe {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(MOE_TEST_TMP) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string contents(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(OutputFile, AppearsOnlyOnCommit) {
  const fs::path dir = fresh_dir("output_file");
  const fs::path path = dir / "out.txt";
  {
    OutputFile out(path.string());
    out.write("abc", 3);
    EXPECT_FALSE(fs::exists(path));
    out.commit();
  }
  EXPECT_EQ(contents(path), "abc");
  {
    OutputFile out(path.string());
    out.write("partial", 7);
  }  // not committed: the earlier file stays, the temporary is gone
  EXPECT_EQ(contents(path), "abc");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(OutputDirectory, AppearsOnlyOnCommit) {
  const fs::path dir = fresh_dir("output_directory");
  const fs::path path = dir / "model";
  {
    OutputDirectory staged(path.string());
    OutputFile file((fs::path(staged.staging()) / "config.json").string());
    file.write("{}", 2);
    file.commit();
  }  // not committed: nothing at path, no temporary
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir));
  OutputDirectory staged(path.string());
  EXPECT_EQ(temporary_owner(fs::path(staged.staging()).filename().string()), ::getpid());
  OutputFile file((fs::path(staged.staging()) / "config.json").string());
  file.write("{}", 2);
  file.commit();
  staged.commit();
  EXPECT_EQ(contents(path / "config.json"), "{}");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(OutputFile, TemporaryOwner) {
  EXPECT_EQ(temporary_owner("iter_0000004.tmp.1234"), 1234);
  EXPECT_EQ(temporary_owner("latest.tmp.7"), 7);
  EXPECT_EQ(temporary_owner("iter_0000004"), 0);
  EXPECT_EQ(temporary_owner("a.tmp."), 0);
  EXPECT_EQ(temporary_owner("a.tmp.12x"), 0);
  EXPECT_EQ(temporary_owner("a.tmp.1234567890123456789012"), 0);  // not a pid
}

TEST(OutputFile, SyncDirectoryNamesAMissingDirectory) {
  try {
    sync_directory("/nonexistent/dir");
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir: cannot open the directory to sync it"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace moe
