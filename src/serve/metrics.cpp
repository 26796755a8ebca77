// Metrics: Prometheus' text exposition format, one HELP/TYPE pair per family.
#include "serve/metrics.h"

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

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const char* name, const std::string& labels, int64_t value) {
  out += std::string(name) + "{" + labels + "} " + std::to_string(value) + "\n";
}

void sample(std::string& out, const char* name, const std::string& labels, double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  out += std::string(name) + "{" + labels + "} " + text + "\n";
}
}  // namespace

std::string prometheus_text(const Metrics& m, const std::string& model_name) {
  const std::string model = label(model_name);
  std::string out;
  family(out, "moe:num_requests_running", "gauge", "Requests in the batch.");
  sample(out, "moe:num_requests_running", model, m.running);
  family(out, "moe:num_requests_waiting", "gauge", "Requests queued for a place in the batch.");
  sample(out, "moe:num_requests_waiting", model, m.waiting);
  family(out, "moe:prompt_tokens_total", "counter", "Prompt tokens of admitted requests.");
  sample(out, "moe:prompt_tokens_total", model, m.prompt_tokens);
  family(out, "moe:generation_tokens_total", "counter", "Generated tokens.");
  sample(out, "moe:generation_tokens_total", model, m.generation_tokens);
  family(out, "moe:request_success_total", "counter", "Finished requests by finish_reason.");
  sample(out, "moe:request_success_total", model + ",finished_reason=\"stop\"", m.finished_stop);
  sample(out, "moe:request_success_total", model + ",finished_reason=\"length\"", m.finished_length);
  family(out, "moe:request_cancelled_total", "counter", "Requests dropped because their client left.");
  sample(out, "moe:request_cancelled_total", model, m.cancelled);
  family(out, "moe:request_failed_total", "counter", "Requests the engine failed.");
  sample(out, "moe:request_failed_total", model, m.failed);
  family(out, "moe:engine_steps_total", "counter", "Forward passes of the engine.");
  sample(out, "moe:engine_steps_total", model, m.steps);
  family(out, "moe:kv_cache_blocks", "gauge", "Blocks in the KV cache pool (64 positions each).");
  sample(out, "moe:kv_cache_blocks", model, m.kv_blocks);
  family(out, "moe:kv_cache_blocks_used", "gauge", "KV cache blocks held by requests.");
  sample(out, "moe:kv_cache_blocks_used", model, m.kv_blocks_used);
  family(out, "moe:kv_cache_usage_perc", "gauge", "KV cache usage. 1 means 100 percent usage.");
  sample(out, "moe:kv_cache_usage_perc", model,
         m.kv_blocks > 0 ? static_cast<double>(m.kv_blocks_used) / static_cast<double>(m.kv_blocks) : 0.0);
  family(out, "moe:num_preemptions_total", "counter", "Requests preempted (KV blocks taken back, to be recomputed).");
  sample(out, "moe:num_preemptions_total", model, m.preemptions);
  family(out, "moe:prefix_cache_queries_total", "counter", "Tokens looked up in the prefix cache.");
  sample(out, "moe:prefix_cache_queries_total", model, m.prefix_queries);
  family(out, "moe:prefix_cache_hits_total", "counter", "Tokens found in the prefix cache (not prefilled).");
  sample(out, "moe:prefix_cache_hits_total", model, m.prefix_hits);
  return out;
}

}  // namespace moe::serve
