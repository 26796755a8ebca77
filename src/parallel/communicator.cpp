// Communicator: nonblocking MPI calls polled against a deadline, deterministic rank-ordered
// sums, and transfers split so that no MPI count exceeds INT_MAX.
#include "parallel/communicator.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <thread>

namespace moe::parallel {

struct Communicator::State {
  MPI_Comm comm = MPI_COMM_NULL;  // MPI_COMM_NULL: this process alone, no MPI
  int rank = 0;
  int size = 1;
  int world_rank = 0;
  std::vector<int> world_ranks{0};
  double timeout_s = 300;
  int64_t max_message = INT_MAX;
};

namespace {

using State = Communicator::State;
using Clock = std::chrono::steady_clock;

constexpr int kCountTag = static_cast<int>(MessageTag::kAllToAllCounts);
constexpr int kDataTag = static_cast<int>(MessageTag::kAllToAllData);

void print_line(const std::string& line) {
  const std::string text = line + "\n";
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
}

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CommError(detail::concat(call, " failed: ", std::string(text, length)));
}

[[noreturn]] void abort_with(const State& s, const std::string& message) {
  print_line(detail::concat("moe: error: rank ", s.world_rank, ": ", message));
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

Clock::time_point deadline_of(const State& s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.timeout_s));
}

// Tests the requests until all are done (true) or the deadline passes (false); on_done(i) runs
// once for each request i as it completes. Yields between polls so oversubscribed ranks progress.
bool poll(std::vector<MPI_Request>& requests, Clock::time_point deadline,
          const std::function<void(int)>& on_done = {}) {
  std::vector<int> done(requests.size());
  int idle = 0;
  while (true) {
    int n_done = 0;
    check(MPI_Testsome(static_cast<int>(requests.size()), requests.data(), &n_done, done.data(), MPI_STATUSES_IGNORE),
          "MPI_Testsome");
    if (n_done == MPI_UNDEFINED) return true;  // every request already complete
    if (n_done > 0) {
      idle = 0;
      if (on_done) {
        for (int i = 0; i < n_done; ++i) on_done(done[i]);
      }
      continue;
    }
    if (Clock::now() > deadline) return false;
    if (++idle < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
}

void wait_or_abort(const State& s, std::vector<MPI_Request>& requests, const char* op) {
  if (!poll(requests, deadline_of(s))) {
    abort_with(s, detail::concat(op, " timed out after ", s.timeout_s, "s"));
  }
}

void wait_or_abort(const State& s, MPI_Request request, const char* op) {
  std::vector<MPI_Request> requests{request};
  wait_or_abort(s, requests, op);
}

// Rank-ordered sum in segments of at most max_message elements: each rank sums one 1/size slice
// of the segment ((r0 + r1) + r2 ...), then the slices are gathered, so every rank holds the
// same bits and no count exceeds INT_MAX.
template <typename T>
void sum_in_rank_order(const State& s, T* data, int64_t n, MPI_Datatype type) {
  MOE_CHECK(n >= 0, CommError, "allreduce_sum: negative count ", n);
  if (s.size == 1 || n == 0) return;
  const int n_ranks = s.size;
  const int64_t segment = std::max<int64_t>(1, std::min<int64_t>(s.max_message, INT_MAX - 2 * int64_t{n_ranks}));
  std::vector<int> counts(n_ranks), displs(n_ranks), recv_counts(n_ranks), recv_displs(n_ranks);
  std::vector<T> gathered;
  for (int64_t offset = 0; offset < n; offset += segment) {
    const int64_t length = std::min(segment, n - offset);
    for (int r = 0; r < n_ranks; ++r) {
      displs[r] = static_cast<int>(length * r / n_ranks);
      counts[r] = static_cast<int>(length * (r + 1) / n_ranks - displs[r]);
    }
    const int mine = counts[s.rank];
    for (int r = 0; r < n_ranks; ++r) {
      recv_counts[r] = mine;
      recv_displs[r] = r * mine;
    }
    gathered.resize(static_cast<size_t>(n_ranks) * mine);
    T* segment_data = data + offset;
    MPI_Request request;
    check(MPI_Ialltoallv(segment_data, counts.data(), displs.data(), type, gathered.data(), recv_counts.data(),
                         recv_displs.data(), type, s.comm, &request),
          "MPI_Ialltoallv");
    wait_or_abort(s, request, "allreduce_sum");
    T* slice = segment_data + displs[s.rank];
    for (int idx = 0; idx < mine; ++idx) {
      T sum = gathered[idx];
      for (int r = 1; r < n_ranks; ++r) sum += gathered[static_cast<size_t>(r) * mine + idx];
      slice[idx] = sum;
    }
    check(MPI_Iallgatherv(MPI_IN_PLACE, 0, type, segment_data, counts.data(), displs.data(), type, s.comm, &request),
          "MPI_Iallgatherv");
    wait_or_abort(s, request, "allreduce_sum");
  }
}

std::string join(const std::vector<std::string>& items) {
  std::string text = "[";
  for (size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + items[i];
  return text + "]";
}

// Point-to-point all-to-all: per-peer messages (not MPI_Ialltoallv) so that a timeout can say
// which peers' counts and rows arrived.
template <typename T>
void alltoallv_in_order(const State& s, const T* send, const std::vector<int64_t>& send_counts, std::vector<T>& recv,
                        std::vector<int64_t>& recv_counts, const std::string& where, int64_t row_elems,
                        MPI_Datatype type) {
  MOE_CHECK(static_cast<int>(send_counts.size()) == s.size, CommError, "alltoallv at ", where, ": ", send_counts.size(),
            " send counts for ", s.size, " ranks");
  MOE_CHECK(row_elems >= 1, CommError, "alltoallv at ", where, ": row_elems = ", row_elems);
  std::vector<int64_t> send_offsets(s.size + 1, 0);
  for (int r = 0; r < s.size; ++r) {
    MOE_CHECK(send_counts[r] >= 0, CommError, "alltoallv at ", where, ": negative count ", send_counts[r], " for rank ",
              r);
    send_offsets[r + 1] = send_offsets[r] + send_counts[r];
  }
  if (s.size == 1) {
    recv_counts = send_counts;
    recv.assign(send, send + send_counts[0]);
    return;
  }
  const Clock::time_point deadline = deadline_of(s);
  constexpr int64_t kUnknown = -1;
  recv_counts.assign(s.size, kUnknown);
  recv_counts[s.rank] = send_counts[s.rank];
  std::vector<int64_t> received(s.size, 0);
  received[s.rank] = send_counts[s.rank];

  std::vector<MPI_Request> sends, count_recvs;
  std::vector<int> send_peer;  // peer of each send request
  bool data_posted = false;
  auto report = [&]() {
    std::vector<std::string> expected(s.size), got(s.size), unsent;
    if (!data_posted) {  // stuck on counts: data already queued by MPI counts as received
      for (int r = 0; r < s.size; ++r) {
        if (r == s.rank || recv_counts[r] <= 0) continue;
        int arrived = 0, elements = 0;
        MPI_Status status;
        MPI_Iprobe(r, kDataTag, s.comm, &arrived, &status);
        if (arrived) MPI_Get_count(&status, type, &elements);
        received[r] = elements;
      }
    }
    for (int r = 0; r < s.size; ++r) {
      expected[r] = recv_counts[r] == kUnknown ? "?" : std::to_string(recv_counts[r] / row_elems);
      got[r] = std::to_string(received[r] / row_elems);
    }
    if (!sends.empty()) {  // retire sends that completed while we waited on receives
      std::vector<int> done(sends.size());
      int n_done = 0;
      MPI_Testsome(static_cast<int>(sends.size()), sends.data(), &n_done, done.data(), MPI_STATUSES_IGNORE);
    }
    for (size_t idx = 0; idx < sends.size(); ++idx) {
      const std::string peer = std::to_string(send_peer[idx]);
      if (sends[idx] != MPI_REQUEST_NULL && (unsent.empty() || unsent.back() != peer)) {
        unsent.push_back(peer);
      }
    }
    std::string message = detail::concat("all-to-all timed out after ", s.timeout_s, "s at ", where,
                                         ": expected rows from peers ", join(expected), ", received ", join(got));
    if (!unsent.empty()) message += ", sends not yet taken by peers " + join(unsent);
    abort_with(s, message);
  };

  // Counts first: one message per peer, so a missing peer shows as "?".
  for (int peer = 0; peer < s.size; ++peer) {
    if (peer == s.rank) continue;
    MPI_Request request;
    check(MPI_Irecv(&recv_counts[peer], 1, MPI_INT64_T, peer, kCountTag, s.comm, &request), "MPI_Irecv");
    count_recvs.push_back(request);
    check(MPI_Isend(&send_counts[peer], 1, MPI_INT64_T, peer, kCountTag, s.comm, &request), "MPI_Isend");
    sends.push_back(request);
    send_peer.push_back(peer);
    for (int64_t start = 0; start < send_counts[peer]; start += s.max_message) {
      const int64_t n = std::min(s.max_message, send_counts[peer] - start);
      check(MPI_Isend(send + send_offsets[peer] + start, static_cast<int>(n), type, peer, kDataTag, s.comm, &request),
            "MPI_Isend");
      sends.push_back(request);
      send_peer.push_back(peer);
    }
  }
  if (!poll(count_recvs, deadline)) report();

  std::vector<int64_t> recv_offsets(s.size + 1, 0);
  for (int r = 0; r < s.size; ++r) {
    MOE_CHECK(recv_counts[r] >= 0, CommError, "alltoallv at ", where, ": rank ", r, " announced a negative count ",
              recv_counts[r]);
    recv_offsets[r + 1] = recv_offsets[r] + recv_counts[r];
  }
  recv.resize(recv_offsets[s.size]);
  std::copy_n(send + send_offsets[s.rank], send_counts[s.rank], recv.data() + recv_offsets[s.rank]);
  data_posted = true;
  std::vector<MPI_Request> data_recvs;
  std::vector<std::pair<int, int64_t>> piece_of;  // (peer, elements) of each receive
  for (int peer = 0; peer < s.size; ++peer) {
    if (peer == s.rank) continue;
    for (int64_t start = 0; start < recv_counts[peer]; start += s.max_message) {
      const int64_t n = std::min(s.max_message, recv_counts[peer] - start);
      MPI_Request request;
      check(MPI_Irecv(recv.data() + recv_offsets[peer] + start, static_cast<int>(n), type, peer, kDataTag, s.comm,
                      &request),
            "MPI_Irecv");
      data_recvs.push_back(request);
      piece_of.emplace_back(peer, n);
    }
  }
  const bool all_received =
      poll(data_recvs, deadline, [&](int idx) { received[piece_of[idx].first] += piece_of[idx].second; });
  if (!all_received || !poll(sends, deadline)) report();
}

}  // namespace

Communicator::Communicator(std::unique_ptr<State> state) : state_(std::move(state)) {}
Communicator::Communicator(Communicator&&) noexcept = default;
Communicator& Communicator::operator=(Communicator&& other) noexcept {
  if (this != &other) {
    Communicator dying(std::move(*this));  // frees our MPI_Comm
    state_ = std::move(other.state_);
  }
  return *this;
}

Communicator::~Communicator() {
  if (!state_ || state_->comm == MPI_COMM_NULL) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Comm_free(&state_->comm);
}

Communicator Communicator::single() { return Communicator(std::make_unique<State>()); }

Communicator Communicator::world(const MpiRuntime& runtime, double comm_timeout_s) {
  auto state = std::make_unique<State>();
  state->timeout_s = comm_timeout_s;
  if (runtime.uses_mpi()) {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &state->comm), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(state->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(state->comm, &state->rank);
    MPI_Comm_size(state->comm, &state->size);
    state->world_rank = state->rank;
    state->world_ranks.resize(state->size);
    for (int r = 0; r < state->size; ++r) state->world_ranks[r] = r;
  }
  return Communicator(std::move(state));
}

int Communicator::rank() const { return state_->rank; }
int Communicator::size() const { return state_->size; }
int Communicator::world_rank() const { return state_->world_rank; }
const std::vector<int>& Communicator::world_ranks() const { return state_->world_ranks; }
void Communicator::set_comm_timeout(double seconds) {
  MOE_CHECK(seconds > 0, CommError, "comm timeout must be > 0, got ", seconds);
  state_->timeout_s = seconds;
}
void Communicator::set_max_message_elements(int64_t n) {
  MOE_CHECK(n >= 1 && n <= INT_MAX, CommError, "max message elements must be in [1, INT_MAX], got ", n);
  state_->max_message = n;
}

Communicator Communicator::subgroup(const std::vector<int>& world_ranks) const {
  const State& s = *state_;
  std::vector<int> sorted = world_ranks;
  std::sort(sorted.begin(), sorted.end());
  MOE_CHECK(!sorted.empty() && std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), CommError,
            "subgroup: the group must be non-empty without repeated ranks");
  for (int member : sorted) {
    MOE_CHECK(std::find(s.world_ranks.begin(), s.world_ranks.end(), member) != s.world_ranks.end(), CommError,
              "subgroup: world rank ", member, " is not in this communicator");
  }
  const auto self = std::find(world_ranks.begin(), world_ranks.end(), s.world_rank);
  MOE_CHECK(self != world_ranks.end(), CommError, "subgroup: world rank ", s.world_rank,
            " is not in the group it asked for");
  auto state = std::make_unique<State>(s);
  state->world_ranks = world_ranks;
  if (s.comm == MPI_COMM_NULL) return Communicator(std::move(state));

  // The smallest member names the group; the position in the list orders it.
  const int color = sorted.front();
  const int key = static_cast<int>(self - world_ranks.begin());
  check(MPI_Comm_split(s.comm, color, key, &state->comm), "MPI_Comm_split");
  Communicator group(std::move(state));
  State& g = *group.state_;
  MPI_Comm_set_errhandler(g.comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(g.comm, &g.rank);
  MPI_Comm_size(g.comm, &g.size);
  // Ranks that passed different lists for one group would get a communicator other than the
  // one they named; catch that here rather than as wrong sums later.
  std::vector<int> members(g.size);
  check(MPI_Allgather(&g.world_rank, 1, MPI_INT, members.data(), 1, MPI_INT, g.comm), "MPI_Allgather");
  MOE_CHECK(members == world_ranks, CommError, "subgroup: ranks disagree on the group of world rank ", s.world_rank,
            " (the groups passed must partition the communicator)");
  return group;
}

void Communicator::barrier() {
  const State& s = *state_;
  if (s.size == 1) return;
  MPI_Request request;
  check(MPI_Ibarrier(s.comm, &request), "MPI_Ibarrier");
  wait_or_abort(s, request, "barrier");
}

void Communicator::allreduce_sum(float* data, int64_t n) { sum_in_rank_order(*state_, data, n, MPI_FLOAT); }

void Communicator::allreduce_sum(double* data, int64_t n) { sum_in_rank_order(*state_, data, n, MPI_DOUBLE); }

void Communicator::reduce_scatter_sum(float* data, int64_t n) {
  const State& s = *state_;
  MOE_CHECK(n >= 0, CommError, "reduce_scatter_sum: negative count ", n);
  if (s.size == 1 || n == 0) return;
  const int n_ranks = s.size;
  const auto first = [&](int r) { return n * r / n_ranks; };
  int64_t longest = 0;
  for (int r = 0; r < n_ranks; ++r) longest = std::max(longest, first(r + 1) - first(r));
  // Rounds of at most `chunk` elements of each slice, so no message count exceeds the limit.
  const int64_t chunk =
      std::max<int64_t>(1, std::min<int64_t>(s.max_message, INT_MAX - 2 * int64_t{n_ranks}) / n_ranks);
  std::vector<int> counts(n_ranks), displs(n_ranks), recv_counts(n_ranks), recv_displs(n_ranks);
  std::vector<float> packed, gathered;
  for (int64_t done = 0; done < longest; done += chunk) {
    packed.clear();
    for (int r = 0; r < n_ranks; ++r) {
      const int64_t lo = std::min(first(r) + done, first(r + 1)), hi = std::min(lo + chunk, first(r + 1));
      displs[r] = static_cast<int>(packed.size());
      counts[r] = static_cast<int>(hi - lo);
      packed.insert(packed.end(), data + lo, data + hi);
    }
    const int mine = counts[s.rank];
    for (int r = 0; r < n_ranks; ++r) {
      recv_counts[r] = mine;
      recv_displs[r] = r * mine;
    }
    gathered.resize(static_cast<size_t>(n_ranks) * mine);
    MPI_Request request;
    check(MPI_Ialltoallv(packed.data(), counts.data(), displs.data(), MPI_FLOAT, gathered.data(), recv_counts.data(),
                         recv_displs.data(), MPI_FLOAT, s.comm, &request),
          "MPI_Ialltoallv");
    wait_or_abort(s, request, "reduce_scatter_sum");
    float* slice = data + first(s.rank) + done;
    for (int idx = 0; idx < mine; ++idx) {
      float sum = gathered[idx];
      for (int r = 1; r < n_ranks; ++r) sum += gathered[static_cast<size_t>(r) * mine + idx];
      slice[idx] = sum;
    }
  }
}

int64_t Communicator::allreduce_max(int64_t value) {
  const State& s = *state_;
  if (s.size == 1) return value;
  int64_t result = value;
  MPI_Request request;
  check(MPI_Iallreduce(&value, &result, 1, MPI_INT64_T, MPI_MAX, s.comm, &request), "MPI_Iallreduce");
  wait_or_abort(s, request, "allreduce_max");
  return result;
}

void Communicator::allgatherv(const float* send, int64_t count, std::vector<float>& recv,
                              std::vector<int64_t>& counts) {
  const State& s = *state_;
  MOE_CHECK(count >= 0, CommError, "allgatherv: negative count ", count);
  counts.assign(s.size, count);
  if (s.size == 1) {
    recv.assign(send, send + count);
    return;
  }
  MPI_Request request;
  check(MPI_Iallgather(&count, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, s.comm, &request), "MPI_Iallgather");
  wait_or_abort(s, request, "allgatherv");
  std::vector<int64_t> offsets(s.size + 1, 0);
  for (int r = 0; r < s.size; ++r) offsets[r + 1] = offsets[r] + counts[r];
  recv.resize(offsets[s.size]);

  if (offsets[s.size] <= s.max_message) {  // the usual case: one call
    std::vector<int> int_counts(counts.begin(), counts.end());
    std::vector<int> int_displs(offsets.begin(), offsets.end() - 1);
    check(MPI_Iallgatherv(send, static_cast<int>(count), MPI_FLOAT, recv.data(), int_counts.data(), int_displs.data(),
                          MPI_FLOAT, s.comm, &request),
          "MPI_Iallgatherv");
    wait_or_abort(s, request, "allgatherv");
    return;
  }
  // Rounds of at most `piece` elements per rank, so that a round's total fits one MPI count.
  const int64_t piece = std::max<int64_t>(1, s.max_message / s.size);
  const int64_t longest = *std::max_element(counts.begin(), counts.end());
  std::vector<int> round_counts(s.size), round_displs(s.size);
  std::vector<float> staging(static_cast<size_t>(s.size) * piece);
  for (int64_t start = 0; start < longest; start += piece) {
    for (int r = 0; r < s.size; ++r) {
      round_counts[r] = static_cast<int>(std::clamp<int64_t>(counts[r] - start, 0, piece));
      round_displs[r] = static_cast<int>(r * piece);
    }
    check(MPI_Iallgatherv(send + std::min(start, count), round_counts[s.rank], MPI_FLOAT, staging.data(),
                          round_counts.data(), round_displs.data(), MPI_FLOAT, s.comm, &request),
          "MPI_Iallgatherv");
    wait_or_abort(s, request, "allgatherv");
    for (int r = 0; r < s.size; ++r) {
      std::copy_n(staging.data() + round_displs[r], round_counts[r], recv.data() + offsets[r] + start);
    }
  }
}

void Communicator::alltoallv(const float* send, const std::vector<int64_t>& send_counts, std::vector<float>& recv,
                             std::vector<int64_t>& recv_counts, const std::string& where, int64_t row_elems) {
  alltoallv_in_order(*state_, send, send_counts, recv, recv_counts, where, row_elems, MPI_FLOAT);
}

void Communicator::alltoallv(const int64_t* send, const std::vector<int64_t>& send_counts, std::vector<int64_t>& recv,
                             std::vector<int64_t>& recv_counts, const std::string& where, int64_t row_elems) {
  alltoallv_in_order(*state_, send, send_counts, recv, recv_counts, where, row_elems, MPI_INT64_T);
}

struct Communicator::Pending::Requests {
  struct Transfer {
    std::string what;  // "send of N elements to rank P (...)", for the timeout
    int64_t n = 0, done = 0;
  };
  std::vector<Transfer> transfers;
  std::vector<MPI_Request> requests;
  std::vector<size_t> transfer_of;   // per request: its transfer
  std::vector<int64_t> elements_of;  // per request: the elements it moves
};

Communicator::Pending::Pending() : requests_(std::make_unique<Requests>()) {}
Communicator::Pending::Pending(Pending&&) noexcept = default;
Communicator::Pending& Communicator::Pending::operator=(Pending&&) noexcept = default;
Communicator::Pending::~Pending() {
  if (owner_ != nullptr && requests_ != nullptr && !requests_->requests.empty()) owner_->wait_all(*this);
}
bool Communicator::Pending::empty() const { return requests_ == nullptr || requests_->requests.empty(); }

void Communicator::post(bool sending, void* data, int64_t n, int64_t elem_bytes, int peer, MessageTag tag,
                        Pending& pending) {
  const State& s = *state_;
  const char* op = sending ? "send" : "recv";
  MOE_CHECK(peer >= 0 && peer < s.size && peer != s.rank, CommError, op, ": peer ", peer, " is not another rank of ",
            s.size);
  MOE_CHECK(!is_collective_tag(tag), CommError, op, ": tag '", tag_name(tag), "' is reserved for all-to-all");
  MOE_CHECK(n >= 0, CommError, op, ": negative count ", n);
  pending.owner_ = this;
  Pending::Requests& r = *pending.requests_;
  r.transfers.push_back({detail::concat(op, " of ", n, " elements ", sending ? "to" : "from", " rank ", peer,
                                        " (world rank ", s.world_ranks[peer], ", tag '", tag_name(tag), "')"),
                         n});
  // Messages of at most max_message elements, and at most INT_MAX bytes: MPI counts are ints.
  const int64_t piece = std::max<int64_t>(1, std::min<int64_t>(s.max_message, INT_MAX / elem_bytes));
  auto* bytes = static_cast<char*>(data);
  for (int64_t start = 0; start < n; start += piece) {
    const int64_t count = std::min(piece, n - start);
    const int count_bytes = static_cast<int>(count * elem_bytes);
    MPI_Request request;
    if (sending) {
      check(MPI_Isend(bytes + start * elem_bytes, count_bytes, MPI_BYTE, peer, static_cast<int>(tag), s.comm, &request),
            "MPI_Isend");
    } else {
      check(MPI_Irecv(bytes + start * elem_bytes, count_bytes, MPI_BYTE, peer, static_cast<int>(tag), s.comm, &request),
            "MPI_Irecv");
    }
    r.requests.push_back(request);
    r.transfer_of.push_back(r.transfers.size() - 1);
    r.elements_of.push_back(count);
  }
}

void Communicator::wait_all(Pending& pending) {
  if (pending.requests_ == nullptr) return;
  const State& s = *state_;
  Pending::Requests& r = *pending.requests_;
  const bool done = poll(r.requests, deadline_of(s),
                         [&](int index) { r.transfers[r.transfer_of[index]].done += r.elements_of[index]; });
  if (!done) {
    std::string open;
    for (const Pending::Requests::Transfer& t : r.transfers)
      if (t.done < t.n) open += detail::concat(open.empty() ? "" : ", ", t.what, " with ", t.done, " done");
    abort_with(s, detail::concat(open, " timed out after ", s.timeout_s, "s"));
  }
  r = {};
}

void Communicator::send_bytes(const void* data, int64_t n, int64_t elem_bytes, int peer, MessageTag tag) {
  Pending pending;
  post(true, const_cast<void*>(data), n, elem_bytes, peer, tag, pending);  // MPI_Isend only reads it
  wait_all(pending);
}

void Communicator::recv_bytes(void* data, int64_t n, int64_t elem_bytes, int peer, MessageTag tag) {
  Pending pending;
  post(false, data, n, elem_bytes, peer, tag, pending);
  wait_all(pending);
}

void Communicator::broadcast(void* data, int64_t bytes, int root) {
  const State& s = *state_;
  MOE_CHECK(root >= 0 && root < s.size, CommError, "broadcast: root ", root, " outside ", s.size, " ranks");
  MOE_CHECK(bytes >= 0, CommError, "broadcast: negative size ", bytes);
  if (s.size == 1) return;
  std::vector<MPI_Request> requests;
  for (int64_t start = 0; start < bytes; start += s.max_message) {
    MPI_Request request;
    check(MPI_Ibcast(static_cast<char*>(data) + start, static_cast<int>(std::min(s.max_message, bytes - start)),
                     MPI_BYTE, root, s.comm, &request),
          "MPI_Ibcast");
    requests.push_back(request);
  }
  wait_or_abort(s, requests, "broadcast");
}

void Communicator::abort_all(const std::string& message) const {
  if (state_->comm == MPI_COMM_NULL) {
    print_line("moe: error: " + message);
    std::exit(1);
  }
  abort_with(*state_, message);
}

}  // namespace moe::parallel
