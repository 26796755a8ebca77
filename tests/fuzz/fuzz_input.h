// Helpers of the fuzz targets (tests/fuzz/*_fuzz.cpp): the input written where the parser expects
// a file, the one rule every target checks, that bad input is refused with a moe::Error (anything
// else, another exception, a crash, a sanitizer report, a huge allocation, is a finding), and
// MOE_FUZZ_TARGET: libFuzzer's entry point in the fuzz build (MOE_FUZZ_ENTRY), else a registration
// by name, through which moe_fuzz_regression_tests replays tests/golden/fuzz_regressions/<name>/.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moe::fuzz {

// A directory of this process's own (libFuzzer may run several jobs side by side).
inline const std::string& work_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string path = std::string(tmp ? tmp : "/tmp") + "/moe_fuzz." + std::to_string(getpid());
    std::filesystem::create_directories(path);
    return path;
  }();
  return dir;
}

// Writes `bytes` to work_dir()/name and returns the path.
inline std::string write_file(const std::string& name, std::string_view bytes) {
  const std::string path = work_dir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `parse`; a moe::Error is a refusal, which is fine; anything else escapes to libFuzzer.
template <typename Parse>
void refuse_or_accept(Parse&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
}

using Target = void (*)(std::string_view bytes);

inline std::map<std::string, Target>& targets() {
  static std::map<std::string, Target> registered;
  return registered;
}

struct Registration {
  Registration(const char* name, Target target) { targets()[name] = target; }
};

}  // namespace moe::fuzz

#ifdef MOE_FUZZ_ENTRY
#define MOE_FUZZ_TARGET(name, function)                                     \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    function(::moe::fuzz::as_text(data, size));                             \
    return 0;                                                               \
  }
#else
#define MOE_FUZZ_TARGET(name, function) static const ::moe::fuzz::Registration name##_registration(#name, function);
#endif
