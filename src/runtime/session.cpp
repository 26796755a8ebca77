// Session: opening a model under a layout, the step over the active requests, and the gather of
// completions as bytes.
#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "io/byte_io.h"
#include "parallel/fault_injection.h"
#include "runtime/request_codec.h"

namespace moe::runtime {

namespace {

int threads_per_rank(int threads, int world_size) {
  if (threads > 0) return threads;
  return std::max(1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) / world_size);
}

// The mapping of this rank, with the model checked against it before any weight is read.
parallel::Mapping checked_mapping(const parallel::Communicator& world, const model::Model& model,
                                  const parallel::ParallelConfig& config) {
  const parallel::Mapping mapping = parallel::make_mapping(config, world.size(), world.rank());
  check_layout(mapping, model.config, model.weights, config.moe_load_balancer);
  return mapping;
}

// -log softmax(row)[target], summed in double as llama-perplexity does.
double negative_log_likelihood(const float* row, int64_t vocab, int32_t target) {
  const float max = *std::max_element(row, row + vocab);
  double exp_sum = 0;
  for (int64_t i = 0; i < vocab; ++i) exp_sum += std::exp(static_cast<double>(row[i]) - max);
  return -(static_cast<double>(row[target]) - max - std::log(exp_sum));
}

// The pool's blocks: --kv-blocks, or what --kv-cache-gib holds on the rank that holds fewest
// (collective), or none yet (it grows).
int64_t pool_blocks(parallel::Communicator& world, const SessionOptions& options, int64_t block_bytes) {
  options.validate();
  if (options.kv_blocks) return *options.kv_blocks;
  if (!options.kv_cache_gib) return 0;
  const double gib = *options.kv_cache_gib;
  const auto mine =
      static_cast<int64_t>(gib * static_cast<double>(int64_t{1} << 30) / static_cast<double>(block_bytes));
  const int64_t fewest = -world.allreduce_max(-mine);
  MOE_CHECK(fewest >= 1, UsageError, "--kv-cache-gib: ", gib, " GiB holds no KV block (", block_bytes,
            " bytes each on this rank)");
  return fewest;
}

}  // namespace

void SessionOptions::validate() const {
  MOE_CHECK(threads >= 0, UsageError, "-t: must be >= 0, got ", threads);
  MOE_CHECK(!(kv_blocks && kv_cache_gib), UsageError, "--kv-blocks and --kv-cache-gib exclude each other");
  MOE_CHECK(!kv_blocks || *kv_blocks >= 1, UsageError, "--kv-blocks: must be >= 1, got ", kv_blocks.value_or(0));
  MOE_CHECK(!kv_cache_gib || (*kv_cache_gib > 0 && *kv_cache_gib < 1e6), UsageError,
            "--kv-cache-gib: must be in (0, 1e6), got ", kv_cache_gib.value_or(0));
}

std::unique_ptr<Session> Session::open(const parallel::MpiRuntime& mpi, const SessionOptions& options) {
  parallel::Communicator world = parallel::Communicator::world(mpi, options.parallel.comm_timeout_s);
  (void)parallel::make_mapping(options.parallel, world.size(), world.rank());  // layout errors before any file is read
  auto model = std::make_shared<const model::Model>(model::load_model(options.model));
  parallel::fault_point("load");
  return std::make_unique<Session>(std::move(world), std::move(model), options);
}

Session::Session(parallel::Communicator world, std::shared_ptr<const model::Model> model, const SessionOptions& options)
    : world_(std::move(world)),
      model_(std::move(model)),
      tokenizer_(model_->vocab),
      pool_(threads_per_rank(options.threads, world_.size())),
      engine_(*model_, checked_mapping(world_, *model_, options.parallel), world_, pool_,
              options.parallel.check_dispatch, options.parallel.moe_load_balancer) {
  model::Transformer& transformer = engine_.transformer();
  transformer.set_kv_dtype(options.kv_dtype);
  const int64_t n_blocks = pool_blocks(world_, options, transformer.kv_block_bytes());
  fixed_pool_ = options.kv_blocks || options.kv_cache_gib;
  kv_pool_ = transformer.make_pool(n_blocks);
  blocks_.emplace(n_blocks, model::kKvBlockPositions, options.prefix_cache);
}

Session::~Session() = default;

void Session::check_request(const Request& request) const {
  MOE_CHECK(!request.prompt.empty(), UsageError, "request ", request.id,
            ": the prompt is empty and the model adds no BOS token");
  MOE_CHECK(request.n_predict >= 0, UsageError, "request ", request.id, ": n_predict must be >= 0, got ",
            request.n_predict);
  request.sampler.validate();
  const int64_t n_vocab = model_->config.vocab_size;
  for (const auto& [token, bias] : request.sampler.logit_bias)
    MOE_CHECK(token < n_vocab, UsageError, "request ", request.id, ": logit_bias token ", token,
              " is outside the vocabulary [0, ", n_vocab, ")");
  MOE_CHECK(!request.logprobs || *request.logprobs >= 0, UsageError, "request ", request.id,
            ": logprobs must be >= 0, got ", request.logprobs.value_or(0));
}

void Session::add_request(Request request) {
  const uint64_t id = request.id;
  check_request(request);
  for (const Active& active : active_)
    MOE_CHECK(active.request.id != id, UsageError, "request ", id, " is already in the session");
  const int64_t positions = static_cast<int64_t>(request.prompt.size()) + request.n_predict;
  if (fixed_pool_) {
    MOE_CHECK(blocks_->blocks_for(positions) <= blocks_->n_blocks(), UsageError, "request ", id, ": ", positions,
              " positions (prompt and n_predict) do not fit the KV pool of ", blocks_->n_blocks(), " blocks of ",
              model::kKvBlockPositions, " positions");
  } else {
    int64_t needed = blocks_->blocks_for(positions);
    for (const Active& active : active_)
      needed += blocks_->blocks_for(static_cast<int64_t>(active.request.prompt.size()) + active.request.n_predict);
    if (needed > blocks_->n_blocks()) {
      kv_pool_->grow(needed);
      blocks_->grow(needed);
    }
  }
  Sampler sampler(request.sampler, request.prompt);
  active_.push_back({std::move(request), model::KvCache(*kv_pool_), std::move(sampler), {}, {}, 0, false, false});
}

bool Session::can_admit(int64_t n_prompt) const {
  if (!fixed_pool_) return true;
  int64_t still_needed = 0;
  for (const Active& active : active_) {
    if (active.preempted) return false;
    still_needed += blocks_still_needed(active);
  }
  return blocks_->n_available() - still_needed >= blocks_->blocks_for(n_prompt);
}

std::optional<int64_t> Session::max_request_positions() const {
  if (!fixed_pool_) return std::nullopt;
  return blocks_->n_blocks() * model::kKvBlockPositions;
}

int64_t Session::next_step_tokens() const {
  int64_t n = 0;
  for (const Active& active : active_) n += next_chunk(active);
  return n;
}

KvCacheStats Session::kv_stats() const {
  return {blocks_->n_blocks(), blocks_->n_used(), preemptions_, prefix_queries_, prefix_hits_};
}

bool Session::cancel(uint64_t id) {
  const auto it = std::find_if(active_.begin(), active_.end(), [id](const Active& a) { return a.request.id == id; });
  if (it == active_.end()) return false;
  blocks_->release(it->cache.blocks());
  active_.erase(it);
  return true;
}

int64_t Session::known_length(const Active& active) const {
  return static_cast<int64_t>(active.request.prompt.size() + active.tokens.size());
}

int32_t Session::token_at(const Active& active, int64_t position) const {
  const auto n_prompt = static_cast<int64_t>(active.request.prompt.size());
  return position < n_prompt ? active.request.prompt[position] : active.tokens[position - n_prompt];
}

int64_t Session::next_chunk(const Active& active) const {
  const int64_t left = known_length(active) - active.cache.length();
  return active.request.prefill_chunk > 0 ? std::min(active.request.prefill_chunk, left) : left;
}

int64_t Session::blocks_still_needed(const Active& active) const {
  return std::max<int64_t>(
      0, blocks_->blocks_for(known_length(active)) - static_cast<int64_t>(active.cache.blocks().size()));
}

bool Session::take_blocks(Active& active, int64_t positions) {
  while (static_cast<int64_t>(active.cache.blocks().size()) < blocks_->blocks_for(positions)) {
    const std::optional<int32_t> block = blocks_->allocate();
    if (!block) return false;
    active.cache.add_block(*block);
  }
  return true;
}

void Session::preempt(Active& active) {
  blocks_->release(active.cache.blocks());
  active.cache.reset();
  active.hashes.clear();
  active.running = false;
  active.preempted = true;
  ++preemptions_;
}

void Session::start(Active& active) {
  const int64_t n_known = known_length(active);
  // The last known token is always computed: its logits choose the next token.
  int64_t max_blocks = (n_known - 1) / model::kKvBlockPositions;
  // A scoring request computes the logits of every scored position.
  if (active.request.score_from)
    max_blocks = std::min(max_blocks, *active.request.score_from / model::kKvBlockPositions);
  if (blocks_->prefix_cache() && max_blocks > 0) {
    std::vector<int32_t> known(n_known);
    for (int64_t pos = 0; pos < n_known; ++pos) known[pos] = token_at(active, pos);
    CachedPrefix prefix = blocks_->match(known, max_blocks);
    const auto n_hit = static_cast<int64_t>(prefix.blocks.size()) * model::kKvBlockPositions;
    active.cache.reset(std::move(prefix.blocks), n_hit);
    active.hashes = std::move(prefix.hashes);
    prefix_hits_ += n_hit;
  }
  if (blocks_->prefix_cache()) prefix_queries_ += n_known;
  active.running = true;
  active.preempted = false;
}

void Session::cache_full_blocks(Active& active) {
  if (!blocks_->prefix_cache()) return;
  const int64_t n_full = active.cache.length() / model::kKvBlockPositions;
  std::vector<int32_t> tokens(model::kKvBlockPositions);
  for (auto index = static_cast<int64_t>(active.hashes.size()); index < n_full; ++index) {
    for (int64_t i = 0; i < model::kKvBlockPositions; ++i)
      tokens[i] = token_at(active, index * model::kKvBlockPositions + i);
    const uint64_t parent = index == 0 ? kNoParentHash : active.hashes.back();
    active.hashes.push_back(blocks_->cache_full(active.cache.blocks()[index], parent, tokens));
  }
}

void Session::schedule() {
  // Running requests first, in the order they were added, each with blocks for this step's
  // positions; when none is left the most recently added running request gives its blocks back.
  bool preempted = false;
  for (size_t i = 0; i < active_.size(); ++i) {
    Active& active = active_[i];
    if (!active.running) continue;
    while (!take_blocks(active, active.cache.length() + next_chunk(active))) {
      size_t victim = active_.size() - 1;
      while (!active_[victim].running) --victim;
      preempt(active_[victim]);
      preempted = true;
      if (victim == i) break;
    }
  }
  if (preempted) return;
  // Then the waiting ones, in order, while the available blocks cover all they must compute beside
  // what the running ones still need: a request that fits the pool alone always starts once the
  // requests before it have finished, so none waits forever.
  int64_t still_needed = 0;
  for (const Active& active : active_)
    if (active.running) still_needed += blocks_still_needed(active);
  for (Active& active : active_) {
    if (active.running) continue;
    if (blocks_->n_available() - still_needed < blocks_->blocks_for(known_length(active))) break;
    start(active);
    MOE_ASSERT(take_blocks(active, active.cache.length() + next_chunk(active)));
    still_needed += blocks_still_needed(active);
  }
}

bool Session::step(std::vector<Event>& events) {
  events.clear();
  if (!engine_.any_active(!active_.empty())) return false;
  schedule();
  std::vector<size_t> members;  // indices in active_ of the batch's requests
  std::vector<std::vector<int32_t>> inputs;
  std::vector<model::SequenceSlice> batch;
  bool prefill = false;  // a prompt chunk in the batch
  for (size_t i = 0; i < active_.size(); ++i) {
    Active& active = active_[i];
    if (!active.running) continue;
    const int64_t first = active.cache.length(), n = next_chunk(active);
    prefill = prefill || first < static_cast<int64_t>(active.request.prompt.size());
    std::vector<int32_t>& input = inputs.emplace_back(n);
    for (int64_t t = 0; t < n; ++t) input[t] = token_at(active, first + t);
    const bool scores = active.request.score_from && first + n > *active.request.score_from;
    members.push_back(i);
    batch.push_back({input, &active.cache, scores});
  }
  MOE_ASSERT(active_.empty() || !batch.empty());
  parallel::fault_point(prefill ? "prefill" : "decode");
  model::Transformer& transformer = engine_.transformer();
  transformer.forward(batch, logits_);

  // Rows of each slice in batch order: all of a scoring chunk's, else its last.
  const int64_t vocab = transformer.vocab_size();
  const float* rows = logits_.data();
  std::vector<bool> finished(active_.size(), false);
  for (size_t b = 0; b < members.size(); ++b) {
    Active& active = active_[members[b]];
    const Request& request = active.request;
    const auto n = static_cast<int64_t>(batch[b].tokens.size());
    const auto n_prompt = static_cast<int64_t>(request.prompt.size());
    const int64_t end = active.cache.length(), begin = end - n;
    Event event;
    event.id = request.id;
    if (batch[b].all_logits) {
      for (int64_t pos = std::max({*request.score_from, begin, active.scored}); pos < std::min(end, n_prompt - 1);
           ++pos)
        event.nll.push_back(negative_log_likelihood(rows + (pos - begin) * vocab, vocab, request.prompt[pos + 1]));
      active.scored = std::max(active.scored, std::min(end, n_prompt - 1));
    }
    cache_full_blocks(active);
    const int64_t n_rows = batch[b].all_logits ? n : 1;
    const bool prompt_done = end >= n_prompt;
    if (end == known_length(active) && prompt_done && static_cast<int64_t>(active.tokens.size()) < request.n_predict) {
      const std::span<const float> row(rows + (n_rows - 1) * vocab, vocab);
      const int32_t token = active.sampler.sample(row);
      active.tokens.push_back(token);
      event.token = token;
      if (request.logprobs) event.logprobs = token_logprobs(row, token, *request.logprobs);
      event.piece = tokenizer_.token_bytes(token);
    }
    rows += n_rows * vocab;
    const bool eos = event.token && request.stop_at_eos && *event.token == tokenizer_.eos_id();
    if (prompt_done && (eos || static_cast<int64_t>(active.tokens.size()) == request.n_predict)) {
      blocks_->release(active.cache.blocks());
      event.completion = Completion{request.id, std::move(active.request.prompt), std::move(active.tokens),
                                    eos ? FinishReason::kEos : FinishReason::kLength};
      finished[members[b]] = true;
    }
    events.push_back(std::move(event));
  }
  std::vector<Active> kept;
  for (size_t i = 0; i < active_.size(); ++i)
    if (!finished[i]) kept.push_back(std::move(active_[i]));
  active_ = std::move(kept);
  return true;
}

std::vector<Completion> gather_completions(parallel::Communicator& world, std::span<const Completion> mine) {
  std::vector<Completion> all(mine.begin(), mine.end());
  if (world.size() > 1) {
    std::vector<std::byte> bytes;
    for (const Completion& completion : mine) append_completion(bytes, completion);
    const std::vector<std::vector<std::byte>> parts = all_gather_bytes(world, bytes);
    if (world.rank() == 0) {
      all.clear();
      for (size_t rank = 0; rank < parts.size(); ++rank) {
        io::ByteReader in(parts[rank].data(), static_cast<int64_t>(parts[rank].size()),
                          "completions of rank " + std::to_string(rank));
        while (in.remaining() > 0) all.push_back(read_completion(in));
      }
    }
  }
  std::sort(all.begin(), all.end(), [](const Completion& a, const Completion& b) { return a.id < b.id; });
  return all;
}

}  // namespace moe::runtime
