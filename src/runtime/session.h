// Session: one model opened under a parallel layout (world communicator, Mapping, shard,
// Transformer, thread pool, tokenizer) serving requests step by step. Each step() is one forward
// pass over every active request of this rank: prompts not yet prefilled (whole, or a chunk) beside
// the last token of each decoding request; then it samples and returns typed events. Requests join
// with add_request between steps and leave when they finish. `moe run`, `moe eval` and `moe bench`
// call it; so will the server.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kernels/kv_codec.h"
#include "model/transformer.h"
#include "parallel/mpi_runtime.h"
#include "parallel/parallel_config.h"
#include "runtime/parallel_engine.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace moe::runtime {

struct SessionOptions {
  std::string model;                  // for open(): HF directory, GGUF file or training `save` directory
  parallel::ParallelConfig parallel;  // layout, expert slots, check_dispatch, comm timeout
  int threads = 0;                    // per rank; 0: the machine's cores shared by the ranks
  kernels::KvDtype kv_dtype = kernels::KvDtype::kF32;
};

struct Request {
  uint64_t id = 0;              // unique in the session; serves(id) says which ranks add it
  std::vector<int32_t> prompt;  // at least one token
  int64_t n_predict = 0;        // tokens to generate (0: the prompt only)
  SamplerOptions sampler;
  bool stop_at_eos = true;
  int64_t prefill_chunk = 0;  // prompt tokens per step; 0: the whole prompt in one step
  // Scores the prompt: -log p(prompt[pos + 1]) for every pos >= score_from (events' nll).
  std::optional<int64_t> score_from;
  // Each generated token's log-probability and the top N (events' logprobs); unset: none computed.
  std::optional<int64_t> logprobs;
};

enum class FinishReason : uint8_t { kLength, kEos };

// A finished request.
struct Completion {
  uint64_t id = 0;
  std::vector<int32_t> prompt;
  std::vector<int32_t> tokens;  // generated, the end-of-sequence token included
  FinishReason reason = FinishReason::kLength;
};

// What one step did for one request.
struct Event {
  uint64_t id = 0;
  std::optional<int32_t> token;          // chosen this step
  std::string piece;                     // its bytes
  std::vector<double> nll;               // the scored positions this step computed, in order
  std::optional<Logprobs> logprobs;      // of `token`, when the request asked
  std::optional<Completion> completion;  // set when the request finished and left
};

class Session {
 public:
  // Collective over the world of `mpi`: the layout is checked before the model is read, and the
  // model against the layout before any weight is.
  static std::unique_ptr<Session> open(const parallel::MpiRuntime& mpi, const SessionOptions& options);
  // A loaded model in `world` (Communicator::single() for one process); options.model unused.
  Session(parallel::Communicator world, std::shared_ptr<const model::Model> model, const SessionOptions& options);
  ~Session();

  const model::Model& model() const { return *model_; }
  const tokenizer::Tokenizer& tokenizer() const { return tokenizer_; }
  model::Transformer& transformer() { return engine_.transformer(); }
  parallel::Communicator& world() { return world_; }
  const parallel::Mapping& mapping() const { return engine_.mapping(); }
  int threads() const { return pool_.n_threads(); }
  // Whether this rank computes request `id`: each rank adds exactly the requests it serves.
  bool serves(uint64_t id) const { return engine_.serves(id); }
  // The places a request can go (ParallelEngine::n_slots) and whether this rank computes those
  // placed in `slot`: a server places requests by load rather than by id.
  int n_slots() const { return engine_.n_slots(); }
  bool serves_slot(int slot) const { return engine_.serves_slot(slot); }
  // Whether this rank reports the requests it serves (one rank per request).
  bool reports() const { return engine_.reports(); }

  // Throws UsageError for an empty prompt, a bad sampler or a reused id.
  void add_request(Request request);
  // add_request's checks but the id's, on a rank that may not serve the request.
  void check_request(const Request& request) const;
  // Removes request `id` before the next step (a client that left), freeing its KV cache; false
  // when it is not active here. Between steps, on the ranks that serve it.
  bool cancel(uint64_t id);
  size_t n_active() const { return active_.size(); }
  // Collective over the ranks of this replica: false (and nothing run) once none of them has an
  // active request, else one forward pass (empty on a rank without requests) and its events.
  bool step(std::vector<Event>& events);

 private:
  struct Active {
    Request request;
    model::KvCache cache;
    Sampler sampler;
    int64_t prefilled = 0;        // prompt tokens in the cache
    std::vector<int32_t> tokens;  // generated
  };

  parallel::Communicator world_;
  std::shared_ptr<const model::Model> model_;
  tokenizer::Tokenizer tokenizer_;
  ThreadPool pool_;
  ParallelEngine engine_;
  std::vector<Active> active_;
  std::vector<float> logits_;
};

// The completions of every rank, by id, on rank 0 of `world` (collective; other ranks get theirs).
std::vector<Completion> gather_completions(parallel::Communicator& world, std::span<const Completion> mine);

}  // namespace moe::runtime
