// MpiRuntime (MPI_Init_thread / MPI_Finalize only under a launcher) and run_ranked.
#include "parallel/mpi_runtime.h"

#include <mpi.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/printable.h"

namespace moe::parallel {
namespace {

// One write(2) per line, so lines from ranks sharing a terminal do not interleave; bytes quoted
// from a file or request are escaped, so that the message stays one line of UTF-8.
void print_line(const std::string& line) {
  const std::string text = printable(line) + "\n";
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
}

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, length);
}

}  // namespace

bool launched_by_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_PROCID"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

MpiRuntime::MpiRuntime() {
  if (!launched_by_mpi_launcher()) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  MOE_CHECK(!initialized, Error, "MpiRuntime: MPI is already initialised (one MpiRuntime per process)");
  int provided = 0;
  const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MOE_CHECK(code == MPI_SUCCESS, Error, "MPI_Init_thread failed: ", mpi_error_string(code));
  uses_mpi_ = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size_);
  // Worker threads never call MPI, so FUNNELED is all we need; a library giving less than that
  // would still be correct for us in practice, but say so rather than guess.
  MOE_CHECK(provided >= MPI_THREAD_FUNNELED, Error, "rank ", world_rank_, ": MPI provides thread level ", provided,
            ", below MPI_THREAD_FUNNELED");
}

MpiRuntime::~MpiRuntime() {
  if (!uses_mpi_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

int run_ranked(const MpiRuntime& runtime, const std::function<void()>& body) {
  const bool many = runtime.uses_mpi() && runtime.world_size() > 1;
  std::string message;
  bool same_on_every_rank = false;
  try {
    body();
    return 0;
  } catch (const ConfigError& e) {
    message = e.what();
    same_on_every_rank = true;
  } catch (const UsageError& e) {
    message = e.what();
    same_on_every_rank = true;
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown exception";
  }
  if (!many) {
    print_line("moe: error: " + message);
    return 1;
  }
  if (same_on_every_rank) {
    if (runtime.world_rank() == 0) print_line("moe: error: " + message);
    return 1;
  }
  print_line("moe: error: rank " + std::to_string(runtime.world_rank()) + ": " + message);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);  // MPI_Abort does not return; this keeps the promise if it ever did
}

}  // namespace moe::parallel
