// `moe bench`: llama-bench's table for one model (prefill ppN and decode tgN tokens/s, mean ±
// std over repetitions, per thread count) beside the fraction of the machine's bound each
// reaches: read bandwidth for decode, FMA peak for prefill. `--limits` measures those bounds only.
// --json prints one object per row. Progress goes to stderr. `--ep-workload NAME` runs the Wide-EP
// workload simulation instead (cli/bench_ep_workload.h), without a model; `--moe-layer` times one
// training MoE layer (cli/bench_moe_layer.h); `--batch 1,4,16` times batched decode.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/bench_ep_workload.h"
#include "cli/bench_moe_layer.h"
#include "cli/commands.h"
#include "core/dtype.h"
#include "core/error.h"
#include "kernels/machine_limits.h"
#include "model/model.h"
#include "runtime/bench.h"
#include "runtime/session.h"

namespace moe::cli {

namespace {

struct BenchOptions {
  std::string model;
  std::string n_prompt = "512";
  std::string n_gen = "128";
  std::string threads;
  int repetitions = 5;
  uint64_t seed = 1;
  bool json = false;
  bool limits_only = false;
  std::string limit_gbps;
  std::string limit_gflops;
  std::string limit_int8_gops;
  std::string batch;  // --batch: sequence counts of the batched decode test
};

// A limit per thread count: "19.5" (every count) or "19.5,30" (one per -t value, in order).
std::map<int, double> parse_limit_list(const std::string& text, const std::string& option,
                                       const std::vector<int>& threads) {
  std::vector<double> values;
  size_t begin = 0;
  while (true) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MOE_CHECK(used > 0 && used == item.size() && std::isfinite(value) && value > 0, UsageError, option, ": '", item,
              "' in '", text, "' is not a positive number");
    values.push_back(value);
    if (end == text.size()) break;
    begin = end + 1;
  }
  MOE_CHECK(values.size() == 1 || values.size() == threads.size(), UsageError, option, ": ", values.size(),
            " values for ", threads.size(), " thread counts (-t); give one value or one per thread count");
  std::map<int, double> by_threads;
  for (size_t i = 0; i < threads.size(); ++i) by_threads[threads[i]] = values[values.size() == 1 ? 0 : i];
  return by_threads;
}

std::vector<int> parse_threads(const std::string& text) {
  std::vector<int> threads;
  for (int64_t n : runtime::parse_positive_list(text, "-t")) {
    MOE_CHECK(n <= 4096, UsageError, "-t: ", n, " threads is more than 4096");
    threads.push_back(static_cast<int>(n));
  }
  return threads;
}

std::string format(const char* pattern, double a, double b = 0) {
  char buffer[128];
  std::snprintf(buffer, sizeof buffer, pattern, a, b);
  return buffer;
}

std::string count_text(int64_t n) {
  const double value = static_cast<double>(n);
  return value >= 1e9   ? format("%.2f B", value / 1e9)
         : value >= 1e6 ? format("%.2f M", value / 1e6)
                        : format("%.2f K", value / 1e3);
}

std::string model_file_name(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_filename() ? p.filename().string() : p.parent_path().filename().string();
}

void progress(const std::string& line) {
  std::fprintf(stderr, "bench: %s\n", line.c_str());
  std::fflush(stderr);
}

// Limits for the model benchmark: given on the command line or measured for each thread count.
struct BenchLimits {
  std::map<int, double> gbps;
  std::map<int, double> gflops;     // of the ISA the kernels use
  std::map<int, double> int8_gops;  // AVX-512 VNNI's int8 dot peak: the bound of q8_0 / q4_0 prefill
};

// q8_0 / q4_0 weights run on int8 dot products (matmul_kernels.h): their prefill's bound is the
// int8 dot peak where the CPU has VNNI, not the fp32 FMA peak.
bool int8_bound(DType dtype) {
  return (dtype == DType::kQ8_0 || dtype == DType::kQ4_0) && kernels::has_int8_dot_peak() &&
         kernels::isa_level() == kernels::IsaLevel::kAvx512;
}

// The limits given on the command line, checked before anything is measured or loaded.
BenchLimits given_limits(const BenchOptions& o, const std::vector<int>& threads) {
  BenchLimits limits;
  if (!o.limit_gbps.empty()) limits.gbps = parse_limit_list(o.limit_gbps, "--limit-gbps", threads);
  if (!o.limit_gflops.empty()) limits.gflops = parse_limit_list(o.limit_gflops, "--limit-gflops", threads);
  if (!o.limit_int8_gops.empty()) limits.int8_gops = parse_limit_list(o.limit_int8_gops, "--limit-int8-gops", threads);
  return limits;
}

// Measures the limits not given, for each thread count.
void measure_missing_limits(BenchLimits& limits, const std::vector<int>& threads, bool int8) {
  const kernels::IsaLevel level = kernels::isa_level();
  for (int n : threads) {
    if (int8 && !limits.int8_gops.contains(n)) {
      progress("measuring int8 dot peak (VNNI), " + std::to_string(n) + " threads (--limit-int8-gops skips this)");
      limits.int8_gops[n] = kernels::measure_int8_dot_peak(n).gops;
      progress(format("int8 dot peak %.1f GOP/s", limits.int8_gops[n]));
    }
    if (!limits.gbps.contains(n)) {
      progress("measuring read bandwidth, " + std::to_string(n) + " threads (--limit-gbps skips this)");
      limits.gbps[n] = kernels::measure_read_bandwidth(n).gbps;
      progress(format("read bandwidth %.1f GB/s", limits.gbps[n]));
    }
    if (!limits.gflops.contains(n) && level != kernels::IsaLevel::kRef) {
      progress("measuring " + std::string(kernels::isa_level_name(level)) + " FMA peak, " + std::to_string(n) +
               " threads (--limit-gflops skips this)");
      limits.gflops[n] = kernels::measure_fma_peak(level, n).gflops;
      progress(format("FMA peak %.1f GFLOP/s", limits.gflops[n]));
    }
  }
}

std::string json_line(const nlohmann::ordered_json& object) { return object.dump(); }

void run_limits(const BenchOptions& o, const std::vector<int>& threads) {
  if (!o.json) {
    std::printf("| %-14s | %-6s | %7s | %14s |\n", "limit", "isa", "threads", "value");
    std::printf("| %-14s | %-6s | %7s | %14s |\n", "--------------", "------", "------:", "-------------:");
  }
  for (int n : threads) {
    progress("measuring read bandwidth, " + std::to_string(n) + " threads");
    const kernels::BandwidthLimit read = kernels::measure_read_bandwidth(n);
    if (o.json)
      std::puts(json_line({{"limit", "read_bandwidth"},
                           {"isa", kernels::isa_level_name(read.level)},
                           {"threads", n},
                           {"gbps", read.gbps}})
                    .c_str());
    else
      std::printf("| %-14s | %-6s | %7d | %14s |\n", "read bandwidth", kernels::isa_level_name(read.level), n,
                  format("%.1f GB/s", read.gbps).c_str());
    std::fflush(stdout);
    for (kernels::IsaLevel level : kernels::fma_levels()) {
      progress("measuring " + std::string(kernels::isa_level_name(level)) + " FMA peak, " + std::to_string(n) +
               " threads");
      const kernels::FmaLimit fma = kernels::measure_fma_peak(level, n);
      if (o.json)
        std::puts(json_line({{"limit", "fma_peak"},
                             {"isa", kernels::isa_level_name(level)},
                             {"threads", n},
                             {"gflops", fma.gflops}})
                      .c_str());
      else
        std::printf("| %-14s | %-6s | %7d | %14s |\n", "fp32 FMA peak", kernels::isa_level_name(level), n,
                    format("%.1f GFLOP/s", fma.gflops).c_str());
      std::fflush(stdout);
    }
    if (kernels::has_int8_dot_peak()) {
      progress("measuring int8 dot peak (VNNI), " + std::to_string(n) + " threads");
      const kernels::Int8DotLimit dot = kernels::measure_int8_dot_peak(n);
      if (o.json)
        std::puts(json_line({{"limit", "int8_dot_peak"}, {"isa", "avx512_vnni"}, {"threads", n}, {"gops", dot.gops}})
                      .c_str());
      else
        std::printf("| %-14s | %-6s | %7d | %14s |\n", "int8 dot peak", "vnni", n,
                    format("%.1f GOP/s", dot.gops).c_str());
      std::fflush(stdout);
    }
  }
}

void run_model_bench(const BenchOptions& o, const std::vector<int>& threads) {
  const std::vector<int64_t> n_prompt = runtime::parse_size_list(o.n_prompt, "-p");
  const std::vector<int64_t> n_gen = runtime::parse_size_list(o.n_gen, "-n");
  const std::vector<runtime::BenchTest> tests = runtime::bench_tests(n_prompt, n_gen);
  BenchLimits limits = given_limits(o, threads);
  MOE_CHECK(!o.model.empty(), UsageError, "--model is required (or --limits to measure the machine only)");
  const auto loaded = std::make_shared<const model::Model>(model::load_model(o.model));
  const model::Model& m = *loaded;
  const DType expert_dtype = model::first_expert(m.weights).gate.dtype();
  const bool int8 = int8_bound(expert_dtype);
  // Measured before the first forward pass touches the weights; the read buffer is freed after.
  measure_missing_limits(limits, threads, int8);
  const model::ModelSizes sizes = model::model_sizes(m);
  const std::string name = model_file_name(m.path);
  const std::string dtype = dtype_info(expert_dtype).name;
  const std::string isa = kernels::isa_name();
  const int name_width = static_cast<int>(std::max<size_t>(name.size(), 5));
  if (!o.json) {
    std::printf("| %-*s | %10s | %10s | %10s | %-5s | %7s | %6s | %18s | %-24s |\n", name_width, "model", "size",
                "params", "active", "dtype", "threads", "test", "t/s", "of bound");
    std::printf(
        "| %s | ---------: | ---------: | ---------: | ----- | ------: | -----: | -----------------: | "
        "------------------------ |\n",
        std::string(name_width, '-').c_str());
    std::fflush(stdout);
  }
  for (int n_threads : threads) {
    runtime::SessionOptions options;
    options.threads = n_threads;
    runtime::Session session(parallel::Communicator::single(), loaded, options);
    for (const runtime::BenchTest& test : tests) {
      progress(test.name() + ", " + std::to_string(n_threads) + " threads: warm-up + " + std::to_string(o.repetitions) +
               " runs");
      const std::vector<double> samples = runtime::run_bench_test(
          session.transformer(), test, o.repetitions, o.seed, [&](int repetition, double tokens_per_s) {
            progress(format("  run %.0f: %.2f tokens/s", repetition + 1, tokens_per_s));
          });
      const runtime::SampleStats stats = runtime::mean_stddev(samples);
      std::optional<double> limit, fraction;
      if (test.is_prompt()) {
        const std::map<int, double>& peaks = int8 ? limits.int8_gops : limits.gflops;
        if (peaks.contains(n_threads)) limit = peaks.at(n_threads);
        if (limit)
          fraction = runtime::bound_fraction_prefill(runtime::prefill_flops(sizes, m.config, test.n_prompt),
                                                     test.n_prompt, stats.mean, *limit);
      } else {
        limit = limits.gbps.at(n_threads);
        fraction = runtime::bound_fraction_decode(sizes.decode_bytes_per_token, stats.mean, *limit);
      }
      if (o.json) {
        nlohmann::ordered_json row = {{"model", name},
                                      {"size_bytes", sizes.total_bytes},
                                      {"params", sizes.total_params},
                                      {"active_params", sizes.active_params},
                                      {"decode_bytes_per_token", sizes.decode_bytes_per_token},
                                      {"dtype", dtype},
                                      {"isa", isa},
                                      {"threads", n_threads},
                                      {"test", test.name()},
                                      {"n_prompt", test.n_prompt},
                                      {"n_gen", test.n_gen},
                                      {"tokens_per_s", stats.mean},
                                      {"stddev", stats.stddev},
                                      {"samples", samples}};
        row["bound"] = !test.is_prompt() ? "bandwidth" : int8 ? "int8_dot" : "fma";
        row[!test.is_prompt() ? "limit_gbps"
            : int8            ? "limit_gops"
                              : "limit_gflops"] = limit ? nlohmann::ordered_json(*limit) : nullptr;
        row["bound_fraction"] = fraction ? nlohmann::ordered_json(*fraction) : nullptr;
        std::puts(json_line(row).c_str());
      } else {
        const std::string bound =
            !fraction ? std::string("- (no FMA kernels: ref)")
            : test.is_prompt()
                ? format(int8 ? "%.1f %% of %.1f GOP/s" : "%.1f %% of %.1f GFLOP/s", 100 * *fraction, *limit)
                : format("%.1f %% of %.1f GB/s", 100 * *fraction, *limit);
        std::printf("| %-*s | %10s | %10s | %10s | %-5s | %7d | %6s | %18s | %-24s |\n", name_width, name.c_str(),
                    format("%.2f GiB", static_cast<double>(sizes.total_bytes) / (1 << 30)).c_str(),
                    count_text(sizes.total_params).c_str(), count_text(sizes.active_params).c_str(), dtype.c_str(),
                    n_threads, test.name().c_str(), format("%.2f ± %.2f", stats.mean, stats.stddev).c_str(),
                    bound.c_str());
      }
      std::fflush(stdout);
    }
  }
}

// --batch: for each thread count and each B, B sequences with a -p token prompt decode -n tokens
// together; aggregate decode tokens/s and its ratio to the first B (llama-batched-bench's S_TG).
void run_batched_bench(const BenchOptions& o, const std::vector<int>& threads) {
  const std::vector<int64_t> batch_sizes = runtime::parse_positive_list(o.batch, "--batch");
  const std::vector<int64_t> n_prompt = runtime::parse_positive_list(o.n_prompt, "-p");
  const std::vector<int64_t> n_gen = runtime::parse_positive_list(o.n_gen, "-n");
  MOE_CHECK(n_prompt.size() == 1 && n_gen.size() == 1, UsageError,
            "--batch takes one prompt length (-p) and one decode length (-n), got '", o.n_prompt, "' and '", o.n_gen,
            "'");
  MOE_CHECK(!o.model.empty(), UsageError, "--model is required with --batch");
  const auto loaded = std::make_shared<const model::Model>(model::load_model(o.model));
  const model::Model& m = *loaded;
  const std::string name = model_file_name(m.path);
  const std::string dtype = dtype_info(m.weights.layers.at(0).experts.at(0).gate.dtype()).name;
  const std::string test = "pp" + std::to_string(n_prompt[0]) + "+tg" + std::to_string(n_gen[0]);
  const int name_width = static_cast<int>(std::max<size_t>(name.size(), 5));
  if (!o.json) {
    std::printf("| %-*s | %-5s | %7s | %5s | %-12s | %18s | %9s |\n", name_width, "model", "dtype", "threads", "B",
                "test", "decode t/s (all B)", "x first B");
    std::printf("| %s | ----- | ------: | ----: | ------------ | -----------------: | --------: |\n",
                std::string(name_width, '-').c_str());
    std::fflush(stdout);
  }
  for (int n_threads : threads) {
    runtime::SessionOptions options;
    options.threads = n_threads;
    runtime::Session session(parallel::Communicator::single(), loaded, options);
    std::optional<double> first;
    for (int64_t b : batch_sizes) {
      progress("B " + std::to_string(b) + " " + test + ", " + std::to_string(n_threads) + " threads: warm-up + " +
               std::to_string(o.repetitions) + " runs");
      const std::vector<double> samples =
          runtime::run_batched_decode(session.transformer(), b, n_prompt[0], n_gen[0], o.repetitions, o.seed,
                                      [&](int repetition, double tokens_per_s) {
                                        progress(format("  run %.0f: %.2f tokens/s", repetition + 1, tokens_per_s));
                                      });
      const runtime::SampleStats stats = runtime::mean_stddev(samples);
      if (!first) first = stats.mean;
      if (o.json) {
        std::puts(json_line({{"model", name},
                             {"dtype", dtype},
                             {"isa", kernels::isa_name()},
                             {"threads", n_threads},
                             {"batch", b},
                             {"n_prompt", n_prompt[0]},
                             {"n_gen", n_gen[0]},
                             {"tokens_per_s", stats.mean},
                             {"stddev", stats.stddev},
                             {"samples", samples},
                             {"ratio_to_first_batch", stats.mean / *first}})
                      .c_str());
      } else {
        std::printf("| %-*s | %-5s | %7d | %5lld | %-12s | %18s | %9s |\n", name_width, name.c_str(), dtype.c_str(),
                    n_threads, static_cast<long long>(b), test.c_str(),
                    format("%.2f ± %.2f", stats.mean, stats.stddev).c_str(),
                    format("%.2f", stats.mean / *first).c_str());
      }
      std::fflush(stdout);
    }
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto ep = std::make_shared<EpBenchOptions>();
  auto moe_layer = std::make_shared<MoeLayerBenchOptions>();
  CLI::App* cmd =
      app.add_subcommand("bench", "Prefill/decode tokens/s against the machine's limits (llama-bench's method)");
  auto* model = cmd->add_option("-m,--model", o->model, kModelPathHelp);
  cmd->add_option("-p,--n-prompt", o->n_prompt, "Prompt sizes, one ppN test each (comma-separated; 0: none)")
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", o->n_gen, "Decode lengths, one tgN test each (comma-separated; 0: none)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Thread counts (comma-separated; default: all cores)");
  cmd->add_option("-r,--repetitions", o->repetitions, "Timed runs per test, after one warm-up")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the random prompt tokens")->capture_default_str();
  cmd->add_flag("--json", o->json, "One JSON object per row (JSON lines)");
  auto* limits = cmd->add_flag("--limits", o->limits_only,
                               "Only measure read bandwidth, FMA peak and (with VNNI) int8 dot peak per thread count");
  cmd->add_option("--limit-gbps", o->limit_gbps,
                  "Read bandwidth to use instead of measuring it (GB/s; one, or one per -t)");
  cmd->add_option("--limit-gflops", o->limit_gflops,
                  "FMA peak of the kernels' ISA to use instead of measuring it (GFLOP/s; one, or one per -t)");
  cmd->add_option("--limit-int8-gops", o->limit_int8_gops,
                  "int8 dot peak (VNNI; the prefill bound of q8_0 / q4_0 models) to use instead of measuring it "
                  "(GOP/s; one, or one per -t)");
  auto* batch = cmd->add_option("--batch", o->batch,
                                "Batched decode instead: sequence counts B (comma-separated, e.g. 1,4,16,64); B "
                                "sequences with a -p token prompt decode -n tokens together; aggregate tokens/s");
  limits->excludes(model);
  batch->excludes(limits);
  add_ep_workload_options(cmd, ep);
  add_moe_layer_options(cmd, moe_layer);
  cmd->callback([o, ep, moe_layer] {
    if (!ep->workload.workload.empty()) return run_ep_workload_bench(*ep, o->json);
    MOE_CHECK(o->repetitions >= 1, UsageError, "-r: repetitions must be >= 1, got ", o->repetitions);
    const std::vector<int> threads = parse_threads(o->threads.empty() ? std::to_string(default_threads()) : o->threads);
    if (o->limits_only) return run_limits(*o, threads);
    if (moe_layer->enabled) return run_moe_layer_bench(*moe_layer, threads, o->repetitions, o->json);
    if (!o->batch.empty()) return run_batched_bench(*o, threads);
    run_model_bench(*o, threads);
  });
}

}  // namespace moe::cli
