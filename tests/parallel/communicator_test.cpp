// The one-process path (no launcher, no MPI): Communicator works alone, run_ranked prints one
// line and returns 1. The MPI paths are in tests/parallel/mpi/, run under mpirun.
#include "parallel/communicator.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace moe::parallel {
namespace {

// These tests must not start MPI; skip them if someone runs the binary under mpirun.
#define SKIP_UNDER_LAUNCHER() \
  if (launched_by_mpi_launcher()) GTEST_SKIP() << "run without mpirun"

TEST(SingleProcess, CommunicatorWorksWithoutMpi) {
  SKIP_UNDER_LAUNCHER();
  MpiRuntime runtime;
  EXPECT_FALSE(runtime.uses_mpi());
  EXPECT_EQ(runtime.world_size(), 1);
  Communicator comm = Communicator::world(runtime);
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);

  std::vector<float> data = {1.5f, -2.0f};
  comm.allreduce_sum(data.data(), 2);
  EXPECT_EQ(data, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(comm.allreduce_max(-7), -7);
  comm.barrier();

  std::vector<float> all;
  std::vector<int64_t> counts;
  comm.allgatherv(data.data(), 2, all, counts);
  EXPECT_EQ(all, data);
  EXPECT_EQ(counts, (std::vector<int64_t>{2}));

  std::vector<float> recv;
  std::vector<int64_t> recv_counts;
  comm.alltoallv(data.data(), {2}, recv, recv_counts, "test");
  EXPECT_EQ(recv, data);
  EXPECT_EQ(recv_counts, (std::vector<int64_t>{2}));
  EXPECT_THROW(comm.alltoallv(data.data(), {1, 1}, recv, recv_counts, "test"), CommError);

  Communicator self = comm.subgroup({0});
  EXPECT_EQ(self.size(), 1);
  EXPECT_THROW(comm.subgroup({1}), CommError);
  Communicator moved = std::move(self);
  EXPECT_EQ(moved.world_ranks(), (std::vector<int>{0}));
}

TEST(SingleProcess, RunRankedPrintsOneLineAndReturnsOne) {
  SKIP_UNDER_LAUNCHER();
  MpiRuntime runtime;
  EXPECT_EQ(run_ranked(runtime, [] {}), 0);
  ::testing::internal::CaptureStderr();
  const int code = run_ranked(runtime, [] { throw ConfigError("parallel.yaml: bad"); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "moe: error: parallel.yaml: bad\n");
  EXPECT_EQ(code, 1);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_ranked(runtime, [] { throw std::runtime_error("boom"); }), 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "moe: error: boom\n");
}

TEST(SingleProcess, AbortAllPrintsAndExits) {
  SKIP_UNDER_LAUNCHER();
  EXPECT_EXIT(
      {
        MpiRuntime runtime;
        Communicator::world(runtime).abort_all("weights missing");
      },
      ::testing::ExitedWithCode(1), "moe: error: weights missing");
}

}  // namespace
}  // namespace moe::parallel
