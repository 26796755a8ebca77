// main of moe_parallel_mpi_tests: one MpiRuntime for the process, gtest on every rank (rank 0
// prints the report, other ranks print only their failures), or `--scenario NAME` to run a
// failure scenario. The exit code is non-zero when any test failed on this rank.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "mpi_test_env.h"

namespace moe::parallel::mpitest {
namespace {

std::optional<Communicator> g_world;  // lives between MpiRuntime's construction and destruction

// Prints only failed assertions, prefixed by the rank, so that 8 ranks do not print 8 reports.
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "rank %d: %s:%d: %s\n", rank_, result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.summary());
  }

 private:
  int rank_;
};

}  // namespace

Communicator& world() { return *g_world; }

}  // namespace moe::parallel::mpitest

int main(int argc, char** argv) {
  using namespace moe::parallel;
  MpiRuntime runtime;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--scenario") == 0) return mpitest::run_scenario(runtime, argv[i + 1]);
  }
  ::testing::InitGoogleTest(&argc, argv);
  // 20 s: far above any test here (all < 1 s), far below ctest's limit, so a hang ends as an abort
  // that names the collective.
  mpitest::g_world.emplace(Communicator::world(runtime, 20));
  if (runtime.world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new mpitest::FailurePrinter(runtime.world_rank()));
  }
  int failed = RUN_ALL_TESTS();
  // Every rank reports whether any rank failed, so rank 0's summary and exit code cover all.
  const int64_t any_failed = mpitest::g_world->allreduce_max(failed != 0 ? 1 : 0);
  if (runtime.world_rank() == 0 && any_failed && !failed) {
    std::fprintf(stderr, "FAILED on another rank (see its lines above)\n");
  }
  mpitest::g_world.reset();
  return any_failed ? 1 : 0;
}
