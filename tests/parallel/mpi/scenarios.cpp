// Failure scenarios that end the job on purpose; tests/parallel/CMakeLists.txt runs each under
// mpirun through expect_failure.sh and checks exit code, time and message.
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "mpi_test_env.h"
#include "parallel/mapping.h"

namespace moe::parallel::mpitest {
namespace {

// Rank 1 never joins the all-to-all (it waits in a barrier the others never reach); the others
// give up after 2 s and print what they expected and got. Rank s sends 10s + p rows to peer p.
int alltoallv_timeout(const MpiRuntime& runtime) {
  Communicator comm = Communicator::world(runtime, 2.0);
  if (comm.rank() == 1) {
    comm.set_comm_timeout(60);
    comm.barrier();
    return 0;
  }
  constexpr int64_t kCols = 4;
  std::vector<int64_t> send_counts;
  for (int peer = 0; peer < comm.size(); ++peer) send_counts.push_back((10 * comm.rank() + peer) * kCols);
  std::vector<float> send(std::accumulate(send_counts.begin(), send_counts.end(), int64_t{0}), 1.0f);
  std::vector<float> recv;
  std::vector<int64_t> recv_counts;
  comm.alltoallv(send.data(), send_counts, recv, recv_counts, "scenario-dispatch", kCols);
  return 0;
}

int rank_throws(const MpiRuntime& runtime) {
  return run_ranked(runtime, [&] {
    Communicator comm = Communicator::world(runtime);
    comm.barrier();
    if (comm.rank() == 1) throw Error("scenario: rank 1 failed on purpose");
    comm.barrier();  // never completes: rank 1's abort ends this rank
  });
}

// tensor_parallel_size = 3 cannot split a world of 4: every rank fails alike, rank 0 prints.
int bad_layout(const MpiRuntime& runtime) {
  return run_ranked(runtime, [&] {
    ParallelConfig config;
    config.tensor_parallel_size = 3;
    make_mapping(config, runtime.world_size(), runtime.world_rank());
  });
}

}  // namespace

int run_scenario(const MpiRuntime& runtime, const std::string& name) {
  if (name == "alltoallv-timeout") return alltoallv_timeout(runtime);
  if (name == "rank-throws") return rank_throws(runtime);
  if (name == "bad-layout") return bad_layout(runtime);
  return -1;
}

}  // namespace moe::parallel::mpitest
