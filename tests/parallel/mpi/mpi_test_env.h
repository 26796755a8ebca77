// The MPI runtime and world communicator shared by the tests of moe_parallel_mpi_tests (one
// MPI_Init per process, so main owns them and the tests borrow them).
#pragma once

#include "parallel/communicator.h"
#include "parallel/mpi_runtime.h"

namespace moe::parallel::mpitest {

// The world communicator; tests restore any setting they change.
Communicator& world();

// Scenarios that end the job on purpose (run by expect_failure.sh, not by gtest); returns the
// exit code, or -1 for an unknown name.
int run_scenario(const MpiRuntime& runtime, const std::string& name);

}  // namespace moe::parallel::mpitest
