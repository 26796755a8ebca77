// The parallel-layout YAML (`moe run --config`, `moe serve --config`).
#include "fuzz_input.h"
#include "parallel/parallel_config.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  const std::string path = fuzz::write_file("parallel.yaml", bytes);
  fuzz::refuse_or_accept([&] { parallel::load_parallel_config(path); });
}

}  // namespace

MOE_FUZZ_TARGET(parallel_yaml, run)
