// MOE_FAULT_AT: a rank kills itself with SIGKILL at a named phase (tests/fault/).
#include "parallel/fault_injection.h"

#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace moe::parallel {
namespace {

constexpr std::array<std::string_view, 6> kPhases = {"load",      "prefill",    "decode",
                                                     "eplb_move", "train_step", "checkpoint_write"};

int world_rank() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  int rank = 0;
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace

void fault_point(std::string_view phase) {
  const char* value = std::getenv("MOE_FAULT_AT");
  if (value == nullptr || *value == '\0') return;
  const std::string_view spec(value);
  const size_t at = spec.find('@');
  const std::string_view wanted = spec.substr(0, at);
  MOE_CHECK(std::find(kPhases.begin(), kPhases.end(), wanted) != kPhases.end(), UsageError, "MOE_FAULT_AT: '", wanted,
            "' is no phase (load, prefill, decode, eplb_move, train_step, checkpoint_write)");
  if (wanted != phase) return;
  const int rank = world_rank();
  if (at != std::string_view::npos) {
    const std::string rank_text(spec.substr(at + 1));
    MOE_CHECK(
        !rank_text.empty() && rank_text.find_first_not_of("0123456789") == std::string::npos && rank_text.size() < 9,
        UsageError, "MOE_FAULT_AT: '", rank_text, "' after @ is no rank");
    if (std::stoi(rank_text) != rank) return;
  }
  const std::string line =
      "moe: fault injection: rank " + std::to_string(rank) + " killed at " + std::string(phase) + "\n";
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  ::kill(::getpid(), SIGKILL);
}

}  // namespace moe::parallel
