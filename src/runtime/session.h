// Session: one model opened under a parallel layout (world communicator, Mapping, shard,
// Transformer, thread pool, tokenizer) serving requests step by step. Each step() is one forward
// pass over every active request of this rank: prompts not yet prefilled (whole, or a chunk) beside
// the last token of each decoding request; then it samples and returns typed events. Requests join
// with add_request between steps and leave when they finish. `moe run`, `moe eval`, `moe bench`
// and `moe serve` call it.
// KV caches live in one pool of blocks per rank (model/kv_cache.h, runtime/kv_block_manager.h): a
// request takes blocks as its positions are written; a request whose full prompt blocks are cached
// reuses them; when the pool runs out mid-generation the most recently added running request is
// preempted (its blocks freed) and later recomputed from its prompt and generated tokens, with the
// same sampler, so it produces the same tokens (the kernels are batch invariant).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kernels/kv_codec.h"
#include "model/kv_cache.h"
#include "model/transformer.h"
#include "parallel/mpi_runtime.h"
#include "parallel/parallel_config.h"
#include "runtime/kv_block_manager.h"
#include "runtime/parallel_engine.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace moe::runtime {

struct SessionOptions {
  std::string model;                  // for open(): HF directory, GGUF file or training `save` directory
  parallel::ParallelConfig parallel;  // layout, expert slots, check_dispatch, comm timeout
  int threads = 0;                    // per rank; 0: the machine's cores shared by the ranks
  kernels::KvDtype kv_dtype = kernels::KvDtype::kF32;
  // The KV pool of each rank, in blocks of model::kKvBlockPositions positions: kv_blocks, or as
  // many as kv_cache_gib GiB hold (the fewest of all ranks). Neither: the pool grows so that every
  // request added fits whole beside the others, and none is ever preempted.
  std::optional<int64_t> kv_blocks;
  std::optional<double> kv_cache_gib;
  bool prefix_cache = true;  // reuse the cached full blocks a prompt starts with
  // Throws UsageError naming -t, --kv-blocks or --kv-cache-gib (before anything is loaded).
  void validate() const;
};

// The KV pool's figures (of this rank).
struct KvCacheStats {
  int64_t blocks = 0;          // in the pool
  int64_t blocks_used = 0;     // held by requests
  int64_t preemptions = 0;     // requests whose blocks were taken back, to be recomputed
  int64_t prefix_queries = 0;  // tokens looked up in the prefix cache, at each start or restart
  int64_t prefix_hits = 0;     // of those, found there (not computed)
};

struct Request {
  uint64_t id = 0;              // unique in the session; serves(id) says which ranks add it
  std::vector<int32_t> prompt;  // at least one token
  int64_t n_predict = 0;        // tokens to generate (0: the prompt only)
  SamplerOptions sampler;
  bool stop_at_eos = true;
  int64_t prefill_chunk = 0;  // prompt (or, after a preemption, recomputed) tokens per step; 0: all in one step
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

  // Throws UsageError for an empty prompt, a bad sampler, a reused id or, with a fixed pool, a
  // prompt plus n_predict over the whole pool. The request takes KV blocks as it runs.
  void add_request(Request request);
  // add_request's checks but the id's, on a rank that may not serve the request.
  void check_request(const Request& request) const;
  // Whether a request of n_prompt tokens added now would start at the next step: no preempted
  // request waits, and the pool's available blocks cover its prompt beside what the requests added
  // still have to compute (always true when the pool grows).
  bool can_admit(int64_t n_prompt) const;
  // Positions (prompt plus n_predict) one request may use at most: the pool's; nullopt when it grows.
  std::optional<int64_t> max_request_positions() const;
  // Tokens the active requests put in the next step (those waiting for blocks as if they ran).
  int64_t next_step_tokens() const;
  KvCacheStats kv_stats() const;
  // Removes request `id` before the next step (a client that left), freeing its KV blocks; false
  // when it is not active here. Between steps, on the ranks that serve it.
  bool cancel(uint64_t id);
  size_t n_active() const { return active_.size(); }  // those waiting for KV blocks included
  // Collective over the ranks of this replica: false (and nothing run) once none of them has an
  // active request, else one forward pass (empty on a rank without requests) and its events.
  bool step(std::vector<Event>& events);

 private:
  // A request: its cache holds the first cache.length() of its prompt and generated tokens.
  struct Active {
    Request request;
    model::KvCache cache;
    Sampler sampler;
    std::vector<int32_t> tokens;   // generated
    std::vector<uint64_t> hashes;  // of the cache's full blocks, in order (prefix caching)
    int64_t scored = 0;            // prompt positions whose nll was reported
    bool running = false;          // holds its blocks; else waits for them (new, or preempted)
    bool preempted = false;
  };

  int64_t known_length(const Active& active) const;  // prompt plus generated tokens
  int32_t token_at(const Active& active, int64_t position) const;
  int64_t next_chunk(const Active& active) const;           // tokens it computes in its next step
  int64_t blocks_still_needed(const Active& active) const;  // to hold all its known tokens
  // Blocks for the first `positions` positions of `active`; false when the pool has none left.
  bool take_blocks(Active& active, int64_t positions);
  void preempt(Active& active);
  void start(Active& active);  // takes its cached prefix
  void cache_full_blocks(Active& active);
  // Which requests run this step, with blocks for their positions (preempting when needed).
  void schedule();

  parallel::Communicator world_;
  std::shared_ptr<const model::Model> model_;
  tokenizer::Tokenizer tokenizer_;
  ThreadPool pool_;
  ParallelEngine engine_;
  std::unique_ptr<model::KvPool> kv_pool_;
  std::optional<KvBlockManager> blocks_;
  bool fixed_pool_ = false;
  int64_t preemptions_ = 0, prefix_queries_ = 0, prefix_hits_ = 0;
  std::vector<Active> active_;  // in the order they were added
  std::vector<float> logits_;
};

// The completions of every rank, by id, on rank 0 of `world` (collective; other ranks get theirs).
std::vector<Completion> gather_completions(parallel::Communicator& world, std::span<const Completion> mine);

}  // namespace moe::runtime
