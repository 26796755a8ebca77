// Scheduler: the engine thread's loop over the session (admission, cancellation, steps, events).
#include "serve/scheduler.h"

#include <algorithm>
#include <string>

#include "serve/api_error.h"

namespace moe::serve {

namespace {

void set_kv_figures(Metrics& metrics, const runtime::KvCacheStats& kv) {
  metrics.kv_blocks = kv.blocks;
  metrics.kv_blocks_used = kv.blocks_used;
  metrics.preemptions = kv.preemptions;
  metrics.prefix_queries = kv.prefix_queries;
  metrics.prefix_hits = kv.prefix_hits;
}

}  // namespace

Scheduler::Scheduler(runtime::Session& session, SchedulerOptions options)
    : session_(session), options_(options), max_positions_(session.max_request_positions()) {
  set_kv_figures(metrics_, session_.kv_stats());
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { drain(); }

std::shared_ptr<Generation> Scheduler::submit(GenerationParams params) {
  const int64_t positions = static_cast<int64_t>(params.prompt.size()) + params.max_tokens;
  if (max_positions_ && positions > *max_positions_)
    throw ApiError(400,
                   "the request needs " + std::to_string(positions) + " KV cache positions (prompt and max_tokens) " +
                       "but the server's KV cache pool holds " + std::to_string(*max_positions_),
                   "max_tokens", "context_length_exceeded");
  auto generation = std::make_shared<Generation>(std::move(params));
  {
    const std::lock_guard lock(mutex_);
    MOE_CHECK(!draining_, Overloaded, "the server is shutting down");
    // A request that will have a place at the next step does not count as queued.
    const int64_t free_places = std::max<int64_t>(0, options_.max_num_seqs - metrics_.running);
    const auto n_waiting = static_cast<int64_t>(waiting_.size());
    MOE_CHECK(n_waiting < options_.max_queued + free_places, Overloaded, "the queue is full (", n_waiting - free_places,
              " requests waiting, --max-queued ", options_.max_queued, "); retry later");
    waiting_.push_back(generation);
  }
  wake_.notify_one();
  return generation;
}

Metrics Scheduler::metrics() const {
  const std::lock_guard lock(mutex_);
  Metrics metrics = metrics_;
  metrics.waiting = static_cast<int64_t>(waiting_.size());
  return metrics;
}

void Scheduler::record(const Metrics& delta) {
  const runtime::KvCacheStats kv = session_.kv_stats();
  const std::lock_guard lock(mutex_);
  set_kv_figures(metrics_, kv);
  metrics_.running = static_cast<int64_t>(running_.size());
  metrics_.prompt_tokens += delta.prompt_tokens;
  metrics_.generation_tokens += delta.generation_tokens;
  metrics_.finished_stop += delta.finished_stop;
  metrics_.finished_length += delta.finished_length;
  metrics_.cancelled += delta.cancelled;
  metrics_.failed += delta.failed;
  metrics_.steps += delta.steps;
}

void Scheduler::close() {
  {
    const std::lock_guard lock(mutex_);
    draining_ = true;
  }
  wake_.notify_one();
}

void Scheduler::drain() {
  close();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return draining_ || !waiting_.empty() || !running_.empty(); });
      if (draining_ && waiting_.empty() && running_.empty()) return;
      metrics_.cancelled += static_cast<int64_t>(
          std::erase_if(waiting_, [](const std::shared_ptr<Generation>& g) { return g->cancelled(); }));
      admit();
    }
    drop_cancelled();
    if (!running_.empty()) step();
  }
}

void Scheduler::admit() {
  int64_t budget = options_.max_num_tokens - session_.next_step_tokens();
  while (!waiting_.empty() && static_cast<int64_t>(running_.size()) < options_.max_num_seqs && budget > 0 &&
         session_.can_admit(static_cast<int64_t>(waiting_.front()->params().prompt.size()))) {
    std::shared_ptr<Generation> generation = std::move(waiting_.front());
    waiting_.pop_front();
    const GenerationParams& params = generation->params();
    runtime::Request request;
    request.id = next_id_++;
    request.prompt = params.prompt;
    request.n_predict = params.max_tokens;
    request.sampler = params.sampler;
    request.stop_at_eos = params.stop_at_eos;
    const auto n_prompt = static_cast<int64_t>(params.prompt.size());
    request.prefill_chunk = std::min(n_prompt, budget);
    try {
      session_.add_request(request);
    } catch (const std::exception& e) {
      generation->fail(e.what());
      ++metrics_.failed;
      continue;
    }
    metrics_.prompt_tokens += n_prompt;
    budget -= request.prefill_chunk;
    running_.emplace(request.id, Running{generation, TextStream(params.stop), 0});
  }
  metrics_.running = static_cast<int64_t>(running_.size());
}

void Scheduler::drop_cancelled() {
  Metrics delta;
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second.generation->cancelled()) {
      session_.cancel(it->first);
      it = running_.erase(it);
      ++delta.cancelled;
    } else {
      ++it;
    }
  }
  record(delta);
}

void Scheduler::fail_running(const std::string& message) {
  Metrics delta;
  for (const auto& [id, running] : running_) {
    session_.cancel(id);
    running.generation->fail(message);
    ++delta.failed;
  }
  running_.clear();
  record(delta);
}

void Scheduler::step() {
  try {
    session_.step(events_);
  } catch (const std::exception& e) {
    fail_running(e.what());
    return;
  }
  Metrics delta;
  delta.steps = 1;
  for (runtime::Event& event : events_) {
    const auto it = running_.find(event.id);
    if (it == running_.end()) continue;
    Running& running = it->second;
    std::string text;
    if (event.token) {
      ++running.n_tokens;
      ++delta.generation_tokens;
      text = running.text.push(event.piece);
    }
    if (running.text.stopped()) {
      running.generation->finish(text, running.n_tokens, "stop");
      session_.cancel(event.id);
      ++delta.finished_stop;
    } else if (event.completion) {
      text += running.text.finish();
      const bool eos = event.completion->reason == runtime::FinishReason::kEos;
      running.generation->finish(text, running.n_tokens, eos ? "stop" : "length");
      ++(eos ? delta.finished_stop : delta.finished_length);
    } else {
      if (!text.empty()) running.generation->append(text, running.n_tokens);
      continue;
    }
    running_.erase(it);
  }
  record(delta);
}

}  // namespace moe::serve
