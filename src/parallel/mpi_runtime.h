// MpiRuntime: MPI for the life of the process when a launcher (mpirun, srun) started it, and no
// MPI at all otherwise, so the same `moe` binary runs alone or as one rank of many.
#pragma once

#include <functional>

namespace moe::parallel {

// True when the environment says a launcher started this process (OMPI_COMM_WORLD_SIZE,
// PMI_SIZE, PMIX_RANK or SLURM_PROCID is set).
bool launched_by_mpi_launcher();

class MpiRuntime {
 public:
  // Calls MPI_Init_thread(MPI_THREAD_FUNNELED) iff launched_by_mpi_launcher(), and sets
  // MPI_ERRORS_RETURN on MPI_COMM_WORLD so failures come back as moe::Error. One per process:
  // MPI cannot be initialised twice. Throws moe::Error when MPI fails to start.
  MpiRuntime();
  ~MpiRuntime();  // MPI_Finalize; destroy every Communicator first
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  bool uses_mpi() const { return uses_mpi_; }
  int world_rank() const { return world_rank_; }
  int world_size() const { return world_size_; }

 private:
  bool uses_mpi_ = false;
  int world_rank_ = 0;
  int world_size_ = 1;
};

// Runs body on this rank and returns the process exit code (0, or 1 after an error), so that
// no rank is left waiting on one that failed:
//  - ConfigError / UsageError are taken to be raised alike on every rank (checks of the config,
//    the flags and the mapping, made before any communication): rank 0 alone prints
//    "moe: error: <message>" and every rank returns 1.
//  - any other exception: the failing rank prints "moe: error: rank R: <message>" and calls
//    MPI_Abort, which ends every rank of the job (mpirun exits non-zero).
// Without MPI (or a world of 1) it prints "moe: error: <message>" and returns 1.
int run_ranked(const MpiRuntime& runtime, const std::function<void()>& body);

}  // namespace moe::parallel
