// Metrics: Prometheus' text exposition format, one HELP/TYPE pair per family.
#include "serve/metrics.h"

#include <algorithm>
#include <cstdio>

namespace moe::serve {

namespace {
// model_name="..." with Prometheus' escapes.
std::string label(const std::string& model_name) {
  std::string out = "model_name=\"";
  for (const char c : model_name) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, int64_t value) {
  out += name + "{" + labels + "} " + std::to_string(value) + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double value) {
  out += name + "{" + labels + "} " + number(value) + "\n";
}

// A family of one sample: its HELP and TYPE lines, then the sample.
template <typename Value>
void metric(std::string& out, const char* name, const char* type, const char* help, const std::string& labels,
            Value value) {
  family(out, name, type, help);
  sample(out, name, labels, value);
}

void histogram(std::string& out, const char* name, const char* help, const std::string& labels, const Histogram& h) {
  family(out, name, "histogram", help);
  int64_t cumulative = 0;
  for (size_t i = 0; i < h.counts().size(); ++i) {
    cumulative += h.counts()[i];
    const std::string le = i < h.bounds().size() ? number(h.bounds()[i]) : "+Inf";
    sample(out, std::string(name) + "_bucket", labels + ",le=\"" + le + "\"", cumulative);
  }
  sample(out, std::string(name) + "_sum", labels, h.sum());
  sample(out, std::string(name) + "_count", labels, h.count());
}
}  // namespace

void Histogram::observe(double value) {
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Metrics::set_kv(const runtime::KvCacheStats& kv) {
  kv_blocks = kv.blocks;
  kv_blocks_used = kv.blocks_used;
  preemptions = kv.preemptions;
  prefix_queries = kv.prefix_queries;
  prefix_hits = kv.prefix_hits;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  sum_ += other.sum_;
  count_ += other.count_;
}

std::string prometheus_text(const Metrics& m, const EngineFigures* engine, const std::string& model_name) {
  const std::string model = label(model_name);
  std::string out;
  metric(out, "moe:num_requests_running", "gauge", "Requests in the batch.", model, m.running);
  metric(out, "moe:num_requests_waiting", "gauge", "Requests queued for a place in the batch.", model, m.waiting);
  metric(out, "moe:prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", model, m.prompt_tokens);
  metric(out, "moe:generation_tokens_total", "counter", "Generated tokens.", model, m.generation_tokens);
  family(out, "moe:request_success_total", "counter", "Finished requests by finish_reason.");
  sample(out, "moe:request_success_total", model + ",finished_reason=\"stop\"", m.finished_stop);
  sample(out, "moe:request_success_total", model + ",finished_reason=\"length\"", m.finished_length);
  metric(out, "moe:request_cancelled_total", "counter", "Requests dropped because their client left.", model,
         m.cancelled);
  metric(out, "moe:request_failed_total", "counter", "Requests the engine failed.", model, m.failed);
  metric(out, "moe:engine_steps_total", "counter", "Forward passes of the engine.", model, m.steps);
  metric(out, "moe:kv_cache_blocks", "gauge", "Blocks in the KV cache pool (64 positions each).", model, m.kv_blocks);
  metric(out, "moe:kv_cache_blocks_used", "gauge", "KV cache blocks held by requests.", model, m.kv_blocks_used);
  metric(out, "moe:kv_cache_usage_perc", "gauge", "KV cache usage. 1 means 100 percent usage.", model,
         m.kv_blocks > 0 ? static_cast<double>(m.kv_blocks_used) / static_cast<double>(m.kv_blocks) : 0.0);
  metric(out, "moe:num_preemptions_total", "counter", "Requests preempted (KV blocks taken back, to be recomputed).",
         model, m.preemptions);
  metric(out, "moe:prefix_cache_queries_total", "counter", "Tokens looked up in the prefix cache.", model,
         m.prefix_queries);
  metric(out, "moe:prefix_cache_hits_total", "counter", "Tokens found in the prefix cache (not prefilled).", model,
         m.prefix_hits);
  histogram(out, "moe:time_to_first_token_seconds", "Arrival to the first generated token.", model,
            m.time_to_first_token);
  histogram(out, "moe:inter_token_latency_seconds", "Time between two tokens of a request.", model,
            m.inter_token_latency);
  histogram(out, "moe:e2e_request_latency_seconds", "Arrival to the last token.", model, m.e2e_request_latency);
  histogram(out, "moe:request_queue_time_seconds", "Arrival to admission into the batch.", model, m.request_queue_time);
  if (engine == nullptr) return out;
  family(out, "moe:expert_load_max_mean_ratio", "gauge",
         "Per MoE layer: rows the busiest rank received over the mean rank's, since the start (1: balanced).");
  for (size_t layer = 0; layer < engine->layer_rank_balance.size(); ++layer)
    sample(out, "moe:expert_load_max_mean_ratio", model + ",layer=\"" + std::to_string(layer) + "\"",
           engine->layer_rank_balance[layer]);
  family(out, "moe:expert_rows_received_total", "counter",
         "Per MoE layer and rank: token rows the rank's experts received in dispatches.");
  const runtime::GatheredStats& stats = engine->stats;
  for (int64_t layer = 0; layer < stats.layers; ++layer)
    for (int64_t rank = 0; rank < stats.ranks; ++rank)
      if (stats.dispatches[layer * stats.ranks + rank] != 0)
        sample(out, "moe:expert_rows_received_total",
               model + ",layer=\"" + std::to_string(layer) + "\",rank=\"" + std::to_string(rank) + "\"",
               stats.rows_received[layer * stats.ranks + rank]);
  metric(out, "moe:eplb_replans_total", "counter", "Online EPLB re-plans.", model, engine->eplb_replans);
  metric(out, "moe:eplb_layer_moves_total", "counter", "Layers online EPLB switched to a new placement.", model,
         engine->eplb_layer_moves);
  metric(out, "moe:eplb_layers_skipped_total", "counter",
         "Layers a re-plan left as they were (the busiest rank would not get 5 % lighter).", model,
         engine->eplb_layers_skipped);
  return out;
}

}  // namespace moe::serve
