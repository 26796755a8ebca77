// NumPy .npy files (`moe route --logits`).
#include "fuzz_input.h"
#include "io/npy.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  const std::string path = fuzz::write_file("input.npy", bytes);
  fuzz::refuse_or_accept([&] { io::read_npy(path); });
}

}  // namespace

MOE_FUZZ_TARGET(npy, run)
