// Scheduler: the engine thread's loop over the session (admission, cancellation, steps, events).
#include "serve/scheduler.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "serve/api_error.h"

namespace moe::serve {

namespace {
double seconds(std::chrono::steady_clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace

Scheduler::Scheduler(runtime::Session& session, SchedulerOptions options)
    : session_(session), ranks_(session), options_(options), max_positions_(session.max_request_positions()) {
  metrics_.set_kv(session_.kv_stats());
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { drain(); }

std::shared_ptr<Generation> Scheduler::submit(GenerationParams params, std::shared_ptr<Waker> waker) {
  const int64_t positions = static_cast<int64_t>(params.prompt.size()) + params.max_tokens;
  if (max_positions_ && positions > *max_positions_)
    throw ApiError(400,
                   "the request needs " + std::to_string(positions) + " KV cache positions (prompt and max_tokens) " +
                       "but the server's KV cache pool holds " + std::to_string(*max_positions_),
                   "max_tokens", "context_length_exceeded");
  auto generation = std::make_shared<Generation>(std::move(params), std::move(waker));
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

std::optional<EngineFigures> Scheduler::engine_figures(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (engine_stopped_) return std::nullopt;
  const uint64_t serial = figures_serial_;
  figures_wanted_ = true;
  wake_.notify_one();
  if (!figures_ready_.wait_for(lock, timeout, [&] { return engine_stopped_ || figures_serial_ != serial; }) ||
      figures_serial_ == serial)
    return std::nullopt;
  return figures_;
}

void Scheduler::record(const Metrics& delta) {
  const runtime::KvCacheStats kv = session_.kv_stats();
  const std::lock_guard lock(mutex_);
  metrics_.time_to_first_token.merge(delta.time_to_first_token);
  metrics_.inter_token_latency.merge(delta.inter_token_latency);
  metrics_.e2e_request_latency.merge(delta.e2e_request_latency);
  metrics_.request_queue_time.merge(delta.request_queue_time);
  metrics_.set_kv(kv);
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

void Scheduler::drain(std::chrono::milliseconds timeout) {
  close();
  {
    std::unique_lock lock(mutex_);
    const auto stopped = [&] { return engine_stopped_; };
    if (timeout == std::chrono::milliseconds::max())
      figures_ready_.wait(lock, stopped);
    else if (!figures_ready_.wait_for(lock, timeout, stopped))
      abandoning_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::abandon(StepPlan& plan) {
  const std::string message = "the server shut down (--shutdown-timeout) before this request finished";
  for (const std::shared_ptr<Generation>& generation : waiting_) generation->fail(message);
  metrics_.failed += static_cast<int64_t>(waiting_.size() + running_.size());
  waiting_.clear();
  for (const auto& [id, running] : running_) {
    running.generation->fail(message);
    plan.cancelled.push_back(id);
  }
  running_.clear();
  metrics_.running = 0;
}

void Scheduler::loop() {
  for (;;) {
    StepPlan plan;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [&] {
        return draining_ || abandoning_ || figures_wanted_ || !waiting_.empty() || !running_.empty();
      };
      if (ranks_.distributed())
        wake_.wait_for(lock, std::chrono::seconds(1), ready);
      else
        wake_.wait(lock, ready);
      if (draining_ && waiting_.empty() && running_.empty()) break;
      if (abandoning_) abandon(plan);
      metrics_.cancelled += static_cast<int64_t>(
          std::erase_if(waiting_, [](const std::shared_ptr<Generation>& g) { return g->cancelled(); }));
      admit(plan);
      plan.collect_figures = figures_wanted_;
    }
    drop_cancelled(plan);
    plan.step = !running_.empty();
    step(plan);
  }
  StepPlan stop;
  stop.stop = true;
  ranks_.run(stop, events_);
  {
    const std::lock_guard lock(mutex_);
    engine_stopped_ = true;
  }
  figures_ready_.notify_all();
}

int Scheduler::least_loaded_slot() const {
  std::vector<int64_t> load(ranks_.n_slots(), 0);
  for (const auto& [id, running] : running_) load[running.slot] += running.tokens_in_flight();
  return static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
}

void Scheduler::admit(StepPlan& plan) {
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
    request.logprobs = params.logprobs;
    const auto n_prompt = static_cast<int64_t>(params.prompt.size());
    request.prefill_chunk = std::min(n_prompt, budget);
    try {
      session_.check_request(request);
    } catch (const std::exception& e) {
      generation->fail(e.what());
      ++metrics_.failed;
      continue;
    }
    metrics_.prompt_tokens += n_prompt;
    const auto now = std::chrono::steady_clock::now();
    metrics_.request_queue_time.observe(seconds(now - generation->arrival()));
    budget -= request.prefill_chunk;
    Running running{generation, TextStream(params.stop), 0, least_loaded_slot(), now};
    plan.admitted.push_back({running.slot, std::move(request)});
    running_.emplace(plan.admitted.back().request.id, std::move(running));
  }
  metrics_.running = static_cast<int64_t>(running_.size());
}

void Scheduler::drop_cancelled(StepPlan& plan) {
  plan.cancelled = std::move(finished_early_);
  finished_early_.clear();
  Metrics delta;
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second.generation->cancelled()) {
      plan.cancelled.push_back(it->first);
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

void Scheduler::step(const StepPlan& plan) {
  EngineFigures figures;
  try {
    ranks_.run(plan, events_, &figures);  // under MPI a failure ends every rank instead
  } catch (const std::exception& e) {
    fail_running(e.what());
    return;
  }
  if (plan.collect_figures) {
    {
      const std::lock_guard lock(mutex_);
      figures_ = std::move(figures);
      figures_wanted_ = false;
      ++figures_serial_;
    }
    figures_ready_.notify_all();
  }
  if (!plan.step) return;
  const auto now = std::chrono::steady_clock::now();
  Metrics delta;
  delta.steps = 1;
  for (runtime::Event& event : events_) {
    const auto it = running_.find(event.id);
    if (it == running_.end()) continue;
    Running& running = it->second;
    std::string text;
    if (event.token) {
      const auto since = now - (running.n_tokens == 0 ? running.generation->arrival() : running.last_token);
      (running.n_tokens == 0 ? delta.time_to_first_token : delta.inter_token_latency).observe(seconds(since));
      running.last_token = now;
      ++running.n_tokens;
      ++delta.generation_tokens;
      text = running.text.push(event.piece);
    }
    if (running.text.stopped()) {
      running.generation->finish(text, running.n_tokens, std::move(event.logprobs), "stop");
      finished_early_.push_back(event.id);
      delta.e2e_request_latency.observe(seconds(now - running.generation->arrival()));
      ++delta.finished_stop;
    } else if (event.completion) {
      text += running.text.finish();
      const bool eos = event.completion->reason == runtime::FinishReason::kEos;
      running.generation->finish(text, running.n_tokens, std::move(event.logprobs), eos ? "stop" : "length");
      ++(eos ? delta.finished_stop : delta.finished_length);
      delta.e2e_request_latency.observe(seconds(now - running.generation->arrival()));
    } else {
      if (!text.empty() || event.logprobs)
        running.generation->append(text, running.n_tokens, std::move(event.logprobs));
      continue;
    }
    running_.erase(it);
  }
  record(delta);
}

}  // namespace moe::serve
