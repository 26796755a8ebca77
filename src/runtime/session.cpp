// Session: opening a model under a layout, the step over the active requests, and the gather of
// completions as bytes.
#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "io/byte_io.h"
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

}  // namespace

std::unique_ptr<Session> Session::open(const parallel::MpiRuntime& mpi, const SessionOptions& options) {
  parallel::Communicator world = parallel::Communicator::world(mpi, options.parallel.comm_timeout_s);
  (void)parallel::make_mapping(options.parallel, world.size(), world.rank());  // layout errors before any file is read
  auto model = std::make_shared<const model::Model>(model::load_model(options.model));
  return std::make_unique<Session>(std::move(world), std::move(model), options);
}

Session::Session(parallel::Communicator world, std::shared_ptr<const model::Model> model, const SessionOptions& options)
    : world_(std::move(world)),
      model_(std::move(model)),
      tokenizer_(model_->vocab),
      pool_(threads_per_rank(options.threads, world_.size())),
      engine_(*model_, checked_mapping(world_, *model_, options.parallel), world_, pool_,
              options.parallel.check_dispatch, options.parallel.moe_load_balancer) {
  engine_.transformer().set_kv_dtype(options.kv_dtype);
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
  const auto capacity = static_cast<int64_t>(request.prompt.size()) + request.n_predict;
  model::KvCache cache = engine_.transformer().make_cache(capacity);
  Sampler sampler(request.sampler, request.prompt);
  active_.push_back({std::move(request), std::move(cache), std::move(sampler), 0, {}});
}

bool Session::cancel(uint64_t id) {
  const auto it = std::find_if(active_.begin(), active_.end(), [id](const Active& a) { return a.request.id == id; });
  if (it == active_.end()) return false;
  active_.erase(it);
  return true;
}

bool Session::step(std::vector<Event>& events) {
  events.clear();
  if (!engine_.any_active(!active_.empty())) return false;
  std::vector<model::SequenceSlice> batch;
  for (Active& active : active_) {
    const Request& request = active.request;
    const auto n_prompt = static_cast<int64_t>(request.prompt.size());
    if (active.prefilled == n_prompt) {
      batch.push_back({std::span<const int32_t>(active.tokens).last(1), &active.cache, false});
      continue;
    }
    const int64_t left = n_prompt - active.prefilled;
    const int64_t n = request.prefill_chunk > 0 ? std::min(request.prefill_chunk, left) : left;
    const bool scores = request.score_from && active.prefilled + n > *request.score_from;
    batch.push_back({std::span<const int32_t>(request.prompt).subspan(active.prefilled, n), &active.cache, scores});
  }
  model::Transformer& transformer = engine_.transformer();
  transformer.forward(batch, logits_);

  // Rows of each slice in batch order: all of a scoring chunk's, else its last.
  const int64_t vocab = transformer.vocab_size();
  const float* rows = logits_.data();
  std::vector<Active> kept;
  for (size_t i = 0; i < active_.size(); ++i) {
    Active& active = active_[i];
    const Request& request = active.request;
    const auto n = static_cast<int64_t>(batch[i].tokens.size());
    const auto n_prompt = static_cast<int64_t>(request.prompt.size());
    Event event;
    event.id = request.id;
    if (active.prefilled < n_prompt) {
      const int64_t begin = active.prefilled;
      if (batch[i].all_logits)
        for (int64_t pos = std::max(*request.score_from, begin); pos < std::min(begin + n, n_prompt - 1); ++pos)
          event.nll.push_back(negative_log_likelihood(rows + (pos - begin) * vocab, vocab, request.prompt[pos + 1]));
      active.prefilled += n;
    }
    const int64_t n_rows = batch[i].all_logits ? n : 1;
    const bool prompt_done = active.prefilled == n_prompt;
    if (prompt_done && static_cast<int64_t>(active.tokens.size()) < request.n_predict) {
      const std::span<const float> row(rows + (n_rows - 1) * vocab, vocab);
      const int32_t token = active.sampler.sample(row);
      active.tokens.push_back(token);
      event.token = token;
      if (request.logprobs) event.logprobs = token_logprobs(row, token, *request.logprobs);
      event.piece = tokenizer_.token_bytes(token);
    }
    rows += n_rows * vocab;
    const bool eos = event.token && request.stop_at_eos && *event.token == tokenizer_.eos_id();
    if (prompt_done && (eos || static_cast<int64_t>(active.tokens.size()) == request.n_predict))
      event.completion = Completion{request.id, std::move(active.request.prompt), std::move(active.tokens),
                                    eos ? FinishReason::kEos : FinishReason::kLength};
    else
      kept.push_back(std::move(active));
    events.push_back(std::move(event));
  }
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
