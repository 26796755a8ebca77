// Expert placement JSON (`moe eplb` writes it, `expert_placement_file` reads it).
#include "fuzz_input.h"
#include "moe/balance/placement.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  const std::string path = fuzz::write_file("placement.json", bytes);
  fuzz::refuse_or_accept([&] { balance::read_placement_file(path); });
}

}  // namespace

MOE_FUZZ_TARGET(placement, run)
