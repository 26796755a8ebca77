// Every input a fuzz target once failed on (tests/golden/fuzz_regressions/<target>/<file>, the bytes
// libFuzzer saved), replayed through the target's code: each must now be accepted or refused with
// a moe::Error. The sanitized build (scripts/sanitize.sh) runs this too, so an input that once
// showed UB or an overflow is checked under the same sanitizers that found it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz_input.h"

namespace moe::fuzz {
namespace {

namespace fs = std::filesystem;
const fs::path kRegressions = fs::path(MOE_GOLDEN_DIR) / "fuzz_regressions";

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(FuzzRegressions, EveryParserHasATarget) {
  for (const char* name : {"gguf", "safetensors", "hf_config", "tokenizer_json", "tokenizer_model", "parallel_yaml",
                           "train_yaml", "placement", "load_stats", "token_index", "npy", "completion_request"})
    EXPECT_EQ(targets().count(name), 1u) << name;
}

TEST(FuzzRegressions, EverySavedInputIsAcceptedOrRefused) {
  int replayed = 0;
  for (const auto& dir : fs::directory_iterator(kRegressions)) {
    if (!dir.is_directory()) continue;
    const std::string target = dir.path().filename().string();
    ASSERT_EQ(targets().count(target), 1u) << "no fuzz target named " << target;
    for (const auto& file : fs::directory_iterator(dir.path())) {
      SCOPED_TRACE(file.path().string());
      EXPECT_NO_THROW(targets().at(target)(read_bytes(file.path())));
      ++replayed;
    }
  }
  EXPECT_GT(replayed, 0);
}

}  // namespace
}  // namespace moe::fuzz
