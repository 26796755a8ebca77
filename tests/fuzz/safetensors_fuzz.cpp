// safetensors reader: the header length, header JSON, dtypes, shapes and data offsets.
#include "fuzz_input.h"
#include "io/safetensors.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  const std::string path = fuzz::write_file("model.safetensors", bytes);
  fuzz::refuse_or_accept([&] { io::SafetensorsFile::open(path); });
}

}  // namespace

MOE_FUZZ_TARGET(safetensors, run)
