// Metrics: the scheduler's counters and gauges, and GET /metrics in Prometheus' text format under
// vLLM's names with a `moe:` prefix (latency histograms come with a later slice).
#pragma once

#include <cstdint>
#include <string>

namespace moe::serve {

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
  int64_t kv_blocks = 0;        // in the KV cache pool
  int64_t kv_blocks_used = 0;   // held by requests
  int64_t preemptions = 0;      // requests whose KV blocks were taken back, to be recomputed
  int64_t prefix_queries = 0;   // tokens looked up in the prefix cache
  int64_t prefix_hits = 0;      // of those, found there (not prefilled)
};

std::string prometheus_text(const Metrics& metrics, const std::string& model_name);

}  // namespace moe::serve
