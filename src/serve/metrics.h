// Metrics: the scheduler's counters, gauges and latency histograms, the engine's figures (expert
// load balance per MoE layer, online EPLB counters), and GET /metrics in Prometheus' text format
// under vLLM's names with a `moe:` prefix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/session.h"
#include "runtime/stats_file.h"

namespace moe::serve {

// A Prometheus histogram: counts per upper bound (cumulative when printed), sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double value);
  void merge(const Histogram& other);  // same bounds
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<int64_t>& counts() const { return counts_; }  // per bucket, the last is +Inf
  double sum() const { return sum_; }
  int64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;
  double sum_ = 0;
  int64_t count_ = 0;
};

struct Metrics {
  int64_t running = 0;        // requests in the batch
  int64_t waiting = 0;        // requests queued for a place
  int64_t prompt_tokens = 0;  // of admitted requests
  int64_t generation_tokens = 0;
  int64_t finished_stop = 0;    // finish_reason "stop" (end of sequence or a stop string)
  int64_t finished_length = 0;  // finish_reason "length"
  int64_t cancelled = 0;        // requests whose client left before they finished
  int64_t failed = 0;           // requests the engine failed
  int64_t steps = 0;            // forward passes
  // Seconds: arrival to first token, between a request's tokens, arrival to the end, and
  // arrival to admission (vLLM's buckets).
  Histogram time_to_first_token{
      {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}};
  Histogram inter_token_latency{
      {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}};
  Histogram e2e_request_latency{
      {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0}};
  Histogram request_queue_time{
      {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}};
  int64_t kv_blocks = 0;       // in the KV cache pool
  int64_t kv_blocks_used = 0;  // held by requests
  int64_t preemptions = 0;     // requests whose KV blocks were taken back, to be recomputed
  int64_t prefix_queries = 0;  // tokens looked up in the prefix cache
  int64_t prefix_hits = 0;     // of those, found there (not prefilled)
  void set_kv(const runtime::KvCacheStats& kv);
};

// What only the engine's ranks know, gathered on demand (a collective step of EngineRanks).
struct EngineFigures {
  runtime::GatheredStats stats;            // --record-stats' statistics so far
  std::vector<double> layer_rank_balance;  // per layer: busiest rank's rows / mean rank's rows
  int64_t eplb_replans = 0;                // online EPLB re-plans (summed over EP groups)
  int64_t eplb_layer_moves = 0;            // layers switched to a new placement
  int64_t eplb_layers_skipped = 0;         // layers a re-plan left alone (< 5 % lighter busiest rank)
  runtime::KvCacheStats kv;                // summed over the slots' pools (one reporting rank each)
};

// engine: null when the engine could not answer (stopped).
std::string prometheus_text(const Metrics& metrics, const EngineFigures* engine, const std::string& model_name);

}  // namespace moe::serve
