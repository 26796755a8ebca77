// Expert statistics JSON (`--record-stats` files, plain load matrices) as `moe eplb` reads them.
#include "fuzz_input.h"
#include "moe/balance/load_stats.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  const std::string path = fuzz::write_file("stats.json", bytes);
  fuzz::refuse_or_accept([&] { balance::read_load_matrix(path); });
}

}  // namespace

MOE_FUZZ_TARGET(load_stats, run)
