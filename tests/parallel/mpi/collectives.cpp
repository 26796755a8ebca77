// Collectives on the world communicator with real values: rank-ordered deterministic sums,
// uneven gathers and all-to-alls (zero counts included), point to point, broadcast, and the
// same again with tiny message limits so that every split path runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "mpi_test_env.h"

namespace moe::parallel {
namespace {

using mpitest::world;

// A value any rank can recompute for any (rank, index): splitmix64 mapped to +-[0.5, 1) * 2^e with
// e in [-12, 12], so that the order of a sum changes its bits.
template <typename T>
T value_of(int rank, int64_t idx) {
  uint64_t z = static_cast<uint64_t>(rank) * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(idx) + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const double mantissa = 0.5 + static_cast<double>(z >> 11) / 9007199254740992.0 / 2;
  const int exponent = static_cast<int>((z >> 3) % 25) - 12;
  return static_cast<T>(((z & 1) ? -1 : 1) * std::ldexp(mantissa, exponent));
}

// ((v0 + v1) + v2) + ...: the serial rank-ordered sum the allreduce promises.
template <typename T>
std::vector<T> serial_sum(int n_ranks, int64_t n) {
  std::vector<T> sum(n);
  for (int64_t idx = 0; idx < n; ++idx) {
    T acc = value_of<T>(0, idx);
    for (int r = 1; r < n_ranks; ++r) acc += value_of<T>(r, idx);
    sum[idx] = acc;
  }
  return sum;
}

template <typename T>
void check_allreduce(int64_t n) {
  Communicator& comm = world();
  std::vector<T> data(n);
  for (int64_t idx = 0; idx < n; ++idx) data[idx] = value_of<T>(comm.rank(), idx);
  comm.allreduce_sum(data.data(), n);
  const std::vector<T> expected = serial_sum<T>(comm.size(), n);
  ASSERT_EQ(data.size(), expected.size());
  // memcmp of empty vectors would pass null pointers (UB, which UBSan reports).
  EXPECT_TRUE(n == 0 || std::memcmp(data.data(), expected.data(), n * sizeof(T)) == 0) << "n = " << n;
  // Bit-identical on every rank: rank 0's bytes broadcast and compared.
  std::vector<T> from_root = data;
  comm.broadcast(from_root.data(), n * static_cast<int64_t>(sizeof(T)), 0);
  EXPECT_TRUE(n == 0 || std::memcmp(data.data(), from_root.data(), n * sizeof(T)) == 0) << "n = " << n;
}

TEST(MpiAllreduce, FloatSumIsRankOrderedAndBitIdentical) {
  for (int64_t n : {0, 1, 3, 31, 33, 4097}) check_allreduce<float>(n);
}

TEST(MpiAllreduce, DoubleSumIsRankOrderedAndBitIdentical) {
  for (int64_t n : {1, 7, 1000}) check_allreduce<double>(n);
}

TEST(MpiAllreduce, RankOrderMattersForTheseValues) {
  // Guards the test itself: summing in reverse order gives other bits for some element, so a
  // reduction in arrival or tree order would be caught above.
  const int n_ranks = world().size();
  const std::vector<float> forward = serial_sum<float>(n_ranks, 4097);
  int differing = 0;
  for (int64_t idx = 0; idx < 4097; ++idx) {
    float acc = value_of<float>(n_ranks - 1, idx);
    for (int r = n_ranks - 2; r >= 0; --r) acc += value_of<float>(r, idx);
    differing += acc != forward[idx];
  }
  if (n_ranks >= 3) {
    EXPECT_GT(differing, 0);
  }
}

TEST(MpiAllreduce, SplitIntoSmallMessagesGivesTheSameBits) {
  world().set_max_message_elements(5);
  check_allreduce<float>(1001);
  check_allreduce<double>(13);
  world().set_max_message_elements(INT_MAX);
}

// reduce_scatter_sum: each rank's slice [n r / size, n (r + 1) / size) holds the serial sum (the
// allreduce's bits); the rest of the buffer is this rank's own values, untouched.
void check_reduce_scatter(int64_t n) {
  Communicator& comm = world();
  std::vector<float> data(n);
  for (int64_t idx = 0; idx < n; ++idx) data[idx] = value_of<float>(comm.rank(), idx);
  comm.reduce_scatter_sum(data.data(), n);
  const std::vector<float> expected = serial_sum<float>(comm.size(), n);
  const int64_t lo = n * comm.rank() / comm.size(), hi = n * (comm.rank() + 1) / comm.size();
  for (int64_t idx = 0; idx < n; ++idx) {
    const float want = idx >= lo && idx < hi ? expected[idx] : value_of<float>(comm.rank(), idx);
    ASSERT_EQ(std::memcmp(&data[idx], &want, sizeof(float)), 0) << "n = " << n << ", element " << idx;
  }
}

TEST(MpiReduceScatter, SlicesHoldTheRankOrderedSum) {
  for (int64_t n : {0, 1, 3, 31, 4097}) check_reduce_scatter(n);
  world().set_max_message_elements(5);
  check_reduce_scatter(1001);
  world().set_max_message_elements(INT_MAX);
}

TEST(MpiAllreduce, MaxOfRanks) {
  Communicator& comm = world();
  EXPECT_EQ(comm.allreduce_max(int64_t{1} << 40 | comm.rank()), (int64_t{1} << 40) | (comm.size() - 1));
  EXPECT_EQ(comm.allreduce_max(-comm.rank()), 0);
}

// Rank r contributes 0 elements when r % 3 == 1, else 5r + 2; element i is 1000r + i.
void check_allgatherv() {
  Communicator& comm = world();
  auto count_of = [](int r) -> int64_t { return r % 3 == 1 ? 0 : 5 * r + 2; };
  std::vector<float> mine(count_of(comm.rank()));
  for (size_t i = 0; i < mine.size(); ++i) mine[i] = 1000.0f * comm.rank() + i;
  std::vector<float> all;
  std::vector<int64_t> counts;
  comm.allgatherv(mine.data(), static_cast<int64_t>(mine.size()), all, counts);
  std::vector<float> expected;
  std::vector<int64_t> expected_counts;
  for (int r = 0; r < comm.size(); ++r) {
    expected_counts.push_back(count_of(r));
    for (int64_t i = 0; i < count_of(r); ++i) expected.push_back(1000.0f * r + i);
  }
  EXPECT_EQ(counts, expected_counts);
  EXPECT_EQ(all, expected);
}

TEST(MpiAllgatherv, UnevenCountsWithZeros) { check_allgatherv(); }

TEST(MpiAllgatherv, SplitIntoRounds) {
  world().set_max_message_elements(4);
  check_allgatherv();
  world().set_max_message_elements(INT_MAX);
}

// Rank s sends (10s + p) rows of 3 elements to peer p (rank 0 sends itself nothing); element
// (row, col) is 1e6 s + 1e4 p + 10 row + col.
float a2a_value(int src, int dst, int64_t row, int col) { return 1e6f * src + 1e4f * dst + 10.0f * row + col; }

void check_alltoallv(bool all_empty) {
  Communicator& comm = world();
  const int me = comm.rank();
  constexpr int kCols = 3;
  auto rows = [&](int src, int dst) -> int64_t { return all_empty ? 0 : 10 * src + dst; };
  std::vector<float> send;
  std::vector<int64_t> send_counts;
  for (int peer = 0; peer < comm.size(); ++peer) {
    send_counts.push_back(rows(me, peer) * kCols);
    for (int64_t row = 0; row < rows(me, peer); ++row) {
      for (int col = 0; col < kCols; ++col) send.push_back(a2a_value(me, peer, row, col));
    }
  }
  std::vector<float> recv{42.0f};
  std::vector<int64_t> recv_counts;
  comm.alltoallv(send.data(), send_counts, recv, recv_counts, "test", kCols);
  std::vector<float> expected;
  std::vector<int64_t> expected_counts;
  for (int src = 0; src < comm.size(); ++src) {
    expected_counts.push_back(rows(src, me) * kCols);
    for (int64_t row = 0; row < rows(src, me); ++row) {
      for (int col = 0; col < kCols; ++col) expected.push_back(a2a_value(src, me, row, col));
    }
  }
  EXPECT_EQ(recv_counts, expected_counts);
  EXPECT_EQ(recv, expected);
}

TEST(MpiAlltoallv, UnevenAndZeroCounts) { check_alltoallv(false); }

TEST(MpiAlltoallv, AllCountsZero) { check_alltoallv(true); }

TEST(MpiAlltoallv, SplitIntoSmallMessages) {
  world().set_max_message_elements(7);
  check_alltoallv(false);
  world().set_max_message_elements(INT_MAX);
}

TEST(MpiAlltoallv, Int64ValuesUnevenAndZero) {
  // Rank s sends s + p values to peer p, each (s << 32) + (p << 16) + i: beyond float precision.
  Communicator& comm = world();
  const int me = comm.rank();
  std::vector<int64_t> send, send_counts;
  for (int peer = 0; peer < comm.size(); ++peer) {
    send_counts.push_back(me + peer);
    for (int i = 0; i < me + peer; ++i) send.push_back((int64_t{me} << 32) + (peer << 16) + i);
  }
  std::vector<int64_t> recv, recv_counts, expected, expected_counts;
  comm.alltoallv(send.data(), send_counts, recv, recv_counts, "test-int64");
  for (int src = 0; src < comm.size(); ++src) {
    expected_counts.push_back(src + me);
    for (int i = 0; i < src + me; ++i) expected.push_back((int64_t{src} << 32) + (me << 16) + i);
  }
  EXPECT_EQ(recv_counts, expected_counts);
  EXPECT_EQ(recv, expected);
}

TEST(MpiAlltoallv, BackToBackCallsStayInOrder) {
  // Messages of consecutive calls share tags; MPI's non-overtaking order keeps them apart.
  for (int i = 0; i < 5; ++i) check_alltoallv(i % 2 == 1);
}

TEST(MpiPointToPoint, RingSendRecv) {
  Communicator& comm = world();
  const int next = (comm.rank() + 1) % comm.size(), prev = (comm.rank() + comm.size() - 1) % comm.size();
  for (int64_t limit : {int64_t{INT_MAX}, int64_t{3}}) {
    comm.set_max_message_elements(limit);
    std::vector<float> out(17), in(17, -1.0f);
    std::iota(out.begin(), out.end(), 100.0f * comm.rank());
    // Even ranks send first, odd ranks receive first: no reliance on buffering.
    if (comm.rank() % 2 == 0) {
      comm.send(out.data(), 17, next, MessageTag::kPipelineActivations);
      comm.recv(in.data(), 17, prev, MessageTag::kPipelineActivations);
    } else {
      comm.recv(in.data(), 17, prev, MessageTag::kPipelineActivations);
      comm.send(out.data(), 17, next, MessageTag::kPipelineActivations);
    }
    for (int i = 0; i < 17; ++i) EXPECT_EQ(in[i], 100.0f * prev + i) << "limit " << limit;
  }
  comm.set_max_message_elements(INT_MAX);
}

TEST(MpiPointToPoint, TransfersInFlightAcrossACollective) {
  // Each rank posts a receive from the previous rank and a send to the next one, runs an
  // all-reduce meanwhile (as online EPLB runs a step), then completes them: every rank posts
  // before waiting, so nothing relies on buffering, and the split path is taken too.
  Communicator& comm = world();
  const int next = (comm.rank() + 1) % comm.size(), prev = (comm.rank() + comm.size() - 1) % comm.size();
  for (int64_t limit : {int64_t{INT_MAX}, int64_t{3}}) {
    comm.set_max_message_elements(limit);
    std::vector<float> out(1000), in(1000, -1.0f);
    std::iota(out.begin(), out.end(), 1000.0f * comm.rank());
    Communicator::Pending pending;
    EXPECT_TRUE(pending.empty());
    comm.irecv(in.data(), 1000, prev, MessageTag::kExpertWeights, pending);
    comm.isend(out.data(), 1000, next, MessageTag::kExpertWeights, pending);
    EXPECT_FALSE(pending.empty());
    float sum = 1.0f;
    comm.allreduce_sum(&sum, 1);
    EXPECT_EQ(sum, static_cast<float>(comm.size()));
    comm.wait_all(pending);
    EXPECT_TRUE(pending.empty());
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(in[i], 1000.0f * prev + i) << "limit " << limit;
  }
  comm.set_max_message_elements(INT_MAX);
}

// Not a float: 13 bytes of members in 16, padding included (it travels too, unread).
struct Marked {
  int64_t id;
  float value;
  char tag;
  bool operator==(const Marked&) const = default;
};

TEST(MpiPointToPoint, TypedRingOfInt64AndStructsSplitOrWhole) {
  // Elements of 8 and 16 bytes around the ring, blocking and in flight, with a message limit of 3
  // elements too: the splits fall on element boundaries whatever the element's size.
  Communicator& comm = world();
  const int next = (comm.rank() + 1) % comm.size(), prev = (comm.rank() + comm.size() - 1) % comm.size();
  for (int64_t limit : {int64_t{INT_MAX}, int64_t{3}}) {
    comm.set_max_message_elements(limit);
    std::vector<int64_t> out(11), in(11, -1);
    for (int i = 0; i < 11; ++i) out[i] = (int64_t{comm.rank()} << 40) + i;  // beyond float's 24 bits
    if (comm.rank() % 2 == 0) {
      comm.send(out.data(), 11, next, MessageTag::kPipelineActivations);
      comm.recv(in.data(), 11, prev, MessageTag::kPipelineActivations);
    } else {
      comm.recv(in.data(), 11, prev, MessageTag::kPipelineActivations);
      comm.send(out.data(), 11, next, MessageTag::kPipelineActivations);
    }
    for (int i = 0; i < 11; ++i) EXPECT_EQ(in[i], (int64_t{prev} << 40) + i) << "limit " << limit;

    std::vector<Marked> sent(7), got(7, Marked{-1, -1.0f, '?'});
    for (int i = 0; i < 7; ++i) sent[i] = {comm.rank() * 100 + i, 0.5f * i, static_cast<char>('a' + i)};
    Communicator::Pending pending;
    comm.irecv(got.data(), 7, prev, MessageTag::kExpertWeights, pending);
    comm.isend(sent.data(), 7, next, MessageTag::kExpertWeights, pending);
    comm.wait_all(pending);
    for (int i = 0; i < 7; ++i)
      EXPECT_EQ(got[i], (Marked{prev * 100 + i, 0.5f * i, static_cast<char>('a' + i)})) << "limit " << limit;
  }
  comm.set_max_message_elements(INT_MAX);
}

TEST(MpiPointToPoint, RejectsReservedTagsAndBadPeers) {
  Communicator& comm = world();
  float x = 0;
  EXPECT_THROW(comm.send(&x, 1, (comm.rank() + 1) % comm.size(), MessageTag::kAllToAllCounts), CommError);
  EXPECT_THROW(comm.recv(&x, 1, comm.size(), MessageTag::kPipelineActivations), CommError);
  EXPECT_THROW(comm.send(&x, 1, comm.rank(), MessageTag::kPipelineActivations), CommError);
  Communicator::Pending pending;
  EXPECT_THROW(comm.isend(&x, 1, comm.rank(), MessageTag::kPipelineActivations, pending), CommError);
  EXPECT_THROW(comm.irecv(&x, 1, (comm.rank() + 1) % comm.size(), MessageTag::kAllToAllData, pending), CommError);
  EXPECT_TRUE(pending.empty());
}

TEST(MpiBroadcast, FromEveryRootAndSplit) {
  Communicator& comm = world();
  for (int64_t limit : {int64_t{INT_MAX}, int64_t{5}}) {
    comm.set_max_message_elements(limit);
    for (int root = 0; root < comm.size(); ++root) {
      std::vector<int32_t> data(23, comm.rank() == root ? root * 7 : -1);
      comm.broadcast(data.data(), static_cast<int64_t>(data.size() * sizeof(int32_t)), root);
      for (int32_t v : data) EXPECT_EQ(v, root * 7);
    }
  }
  comm.set_max_message_elements(INT_MAX);
  comm.barrier();
}

}  // namespace
}  // namespace moe::parallel
