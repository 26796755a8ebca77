// Communicator: one MPI communicator (RAII) and the collectives moe.cpp needs, each with a
// deadline and with deterministic reductions (every rank gets the same bits, summed in rank
// order). A communicator of one process works without MPI.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "parallel/message_tags.h"
#include "parallel/mpi_runtime.h"

namespace moe::parallel {

// An MPI call that returned an error code (MPI_ERRORS_RETURN), or a misuse of a collective.
class CommError : public Error {
 public:
  using Error::Error;
};

// What point to point moves: elements copied as bytes (every rank runs on the same machine type).
template <typename T>
concept Transferable = std::is_trivially_copyable_v<T>;

class Communicator {
 public:
  // Every rank of the job (a duplicate of MPI_COMM_WORLD; collective), or this process alone
  // when runtime does not use MPI. comm_timeout_s bounds every wait (ParallelConfig's key).
  // This process alone, without MPI (the groups of a single-process run).
  static Communicator single();
  static Communicator world(const MpiRuntime& runtime, double comm_timeout_s = 300);

  Communicator(Communicator&&) noexcept;
  Communicator& operator=(Communicator&&) noexcept;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  ~Communicator();  // MPI_Comm_free (unless MPI is already finalised)

  int rank() const;
  int size() const;
  int world_rank() const;                       // this process in MPI_COMM_WORLD
  const std::vector<int>& world_ranks() const;  // world rank of each member, by rank here

  // The communicator of the group holding this rank, members ordered as listed (a Mapping
  // group), so rank() there is the coordinate. Collective over this communicator: every rank
  // calls it with its own group, and the groups partition the ranks. Inherits the timeout.
  Communicator subgroup(const std::vector<int>& world_ranks) const;

  void barrier();

  // Sums data over the ranks, element by element in rank order ((r0 + r1) + r2) + ...; every
  // rank ends with the same bits. Each rank reduces a 1/size slice then the slices are gathered,
  // so memory and traffic stay ~2n per rank.
  void allreduce_sum(float* data, int64_t n);
  void allreduce_sum(double* data, int64_t n);
  int64_t allreduce_max(int64_t value);
  // The reduce-scatter half of allreduce_sum (the same bits): afterwards rank r holds the sum of
  // its slice [n * r / size, n * (r + 1) / size) of data; the rest of data is left as it was.
  void reduce_scatter_sum(float* data, int64_t n);

  // Concatenates every rank's `count` elements in rank order into recv; counts[r] = rank r's.
  void allgatherv(const float* send, int64_t count, std::vector<float>& recv, std::vector<int64_t>& counts);

  // Sends send_counts[p] elements to each peer p (send holds them peer after peer) and receives
  // recv_counts[p] from each (recv, peer after peer). Counts travel first, then data. A wait
  // longer than the timeout prints "rank R: all-to-all timed out after Ns at <where>: expected
  // rows from peers [...], received [...]" (rows of row_elems elements; "?" for a count not yet
  // received) and aborts the job.
  void alltoallv(const float* send, const std::vector<int64_t>& send_counts, std::vector<float>& recv,
                 std::vector<int64_t>& recv_counts, const std::string& where, int64_t row_elems = 1);
  // The same for integers (e.g. per-expert counts ahead of the rows).
  void alltoallv(const int64_t* send, const std::vector<int64_t>& send_counts, std::vector<int64_t>& recv,
                 std::vector<int64_t>& recv_counts, const std::string& where, int64_t row_elems = 1);

  // Point to point within this communicator: n elements of T, in messages of at most
  // max_message_elements elements (and INT_MAX bytes); the same timeout. The collectives' tags
  // (is_collective_tag) are refused.
  template <Transferable T>
  void send(const T* data, int64_t n, int peer, MessageTag tag) {
    send_bytes(data, n, sizeof(T), peer, tag);
  }
  template <Transferable T>
  void recv(T* data, int64_t n, int peer, MessageTag tag) {
    recv_bytes(data, n, sizeof(T), peer, tag);
  }

  // Point-to-point transfers left in flight: posted by isend / irecv, they progress while this
  // process makes other MPI calls (the next step's all-to-alls), and wait_all() completes them
  // (the communicator's timeout applies; a rank that never answers aborts the job with the
  // transfers named). Their buffers must stay alive and untouched until then.
  class Pending {
   public:
    Pending();
    Pending(Pending&&) noexcept;
    Pending& operator=(Pending&&) noexcept;
    ~Pending();  // waits for what is still in flight
    bool empty() const;

   private:
    friend class Communicator;
    struct Requests;
    std::unique_ptr<Requests> requests_;
    Communicator* owner_ = nullptr;
  };
  template <Transferable T>
  void isend(const T* data, int64_t n, int peer, MessageTag tag, Pending& pending) {
    post(true, const_cast<T*>(data), n, sizeof(T), peer, tag, pending);  // MPI_Isend only reads it
  }
  template <Transferable T>
  void irecv(T* data, int64_t n, int peer, MessageTag tag, Pending& pending) {
    post(false, data, n, sizeof(T), peer, tag, pending);
  }
  void wait_all(Pending& pending);

  void broadcast(void* data, int64_t bytes, int root);

  // Prints "moe: error: rank R: message" and ends every rank (MPI_Abort with code 1); without
  // MPI prints "moe: error: message" and exits 1.
  [[noreturn]] void abort_all(const std::string& message) const;

  void set_comm_timeout(double seconds);
  // Largest element count in one MPI message (default INT_MAX); larger transfers are split.
  // Lowered by tests to exercise the split paths with small buffers.
  void set_max_message_elements(int64_t n);

  struct State;  // opaque: the MPI_Comm and settings, defined in communicator.cpp

 private:
  explicit Communicator(std::unique_ptr<State> state);
  // isend (sending) or irecv: n elements of elem_bytes bytes each, in messages of at most
  // max_message elements.
  void post(bool sending, void* data, int64_t n, int64_t elem_bytes, int peer, MessageTag tag, Pending& pending);
  void send_bytes(const void* data, int64_t n, int64_t elem_bytes, int peer, MessageTag tag);
  void recv_bytes(void* data, int64_t n, int64_t elem_bytes, int peer, MessageTag tag);
  std::unique_ptr<State> state_;
};

}  // namespace moe::parallel
