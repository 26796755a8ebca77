// `moe bench` runs and their statistics.
#include "runtime/bench.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/random.h"

namespace moe::runtime {

std::vector<int64_t> parse_size_list(const std::string& text, const std::string& option) {
  if (text == "0") return {0};
  return parse_positive_list(text, option);
}

std::vector<int64_t> parse_positive_list(const std::string& text, const std::string& option) {
  std::vector<int64_t> values;
  size_t begin = 0;
  while (true) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    MOE_CHECK(!item.empty() && ec == std::errc() && ptr == item.data() + item.size() && value >= 1, UsageError, option,
              ": '", item, "' in '", text, "' is not a positive integer (expected e.g. 1 or 128,512)");
    values.push_back(value);
    if (end == text.size()) break;
    begin = end + 1;
  }
  return values;
}

SampleStats mean_stddev(std::span<const double> samples) {
  SampleStats stats;
  if (samples.empty()) return stats;
  double sum = 0;
  for (double sample : samples) sum += sample;
  stats.mean = sum / static_cast<double>(samples.size());
  if (samples.size() < 2) return stats;
  double squares = 0;
  for (double sample : samples) squares += (sample - stats.mean) * (sample - stats.mean);
  stats.stddev = std::sqrt(squares / static_cast<double>(samples.size() - 1));
  return stats;
}

double bound_fraction_decode(int64_t bytes_per_token, double tokens_per_s, double gbps) {
  return static_cast<double>(bytes_per_token) * tokens_per_s / (gbps * 1e9);
}

double prefill_flops(const model::ModelSizes& sizes, const model::ModelConfig& config, int64_t n_prompt) {
  const auto n = static_cast<double>(n_prompt);
  const double matmuls = 2.0 * n * static_cast<double>(sizes.active_params - sizes.output_params) +
                         2.0 * static_cast<double>(sizes.output_params);
  const double attention =
      4.0 * static_cast<double>(config.attention().head_dim * config.attention().n_heads * config.n_layers()) * n *
      (n + 1) / 2;
  return matmuls + attention;
}

double bound_fraction_prefill(double flops_per_run, int64_t n_prompt, double tokens_per_s, double gflops) {
  return flops_per_run * tokens_per_s / static_cast<double>(n_prompt) / (gflops * 1e9);
}

std::string BenchTest::name() const {
  return is_prompt() ? "pp" + std::to_string(n_prompt) : "tg" + std::to_string(n_gen);
}

std::vector<BenchTest> bench_tests(std::span<const int64_t> n_prompt, std::span<const int64_t> n_gen) {
  std::vector<BenchTest> tests;
  for (int64_t n : n_prompt)
    if (n > 0) tests.push_back({n, 0});
  for (int64_t n : n_gen)
    if (n > 0) tests.push_back({0, n});
  MOE_CHECK(!tests.empty(), UsageError, "-p and -n: every size is 0, so there is no test to run");
  return tests;
}

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab_size, uint64_t seed) {
  MOE_CHECK(vocab_size >= 2, ConfigError, "bench: vocabulary of ", vocab_size,
            " tokens leaves none to draw from [1, vocab)");
  Rng rng(seed);
  std::vector<int32_t> tokens(n);
  for (int32_t& token : tokens)
    token = static_cast<int32_t>(1 + rng.next_u64() % static_cast<uint64_t>(vocab_size - 1));
  return tokens;
}

namespace {

// Seconds of one run of `test` with fresh caches.
double time_run(model::Transformer& transformer, const BenchTest& test, std::span<const int32_t> tokens) {
  std::vector<float> logits;
  if (test.is_prompt()) {
    model::KvCache cache = transformer.make_cache(test.n_prompt);
    const auto start = std::chrono::steady_clock::now();
    transformer.forward(tokens, cache, logits, false);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  model::KvCache cache = transformer.make_cache(1 + test.n_gen);
  transformer.forward(tokens.first(1), cache, logits, false);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < test.n_gen; ++step)
    transformer.forward(tokens.subspan(1 + step, 1), cache, logits, false);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Seconds of the n_gen decode steps of one batched run with fresh caches; tokens[s] are sequence
// s's prompt then its decode inputs.
double time_batched_run(model::Transformer& transformer, const std::vector<std::vector<int32_t>>& tokens,
                        int64_t n_prompt, int64_t n_gen) {
  std::vector<model::KvCache> caches;
  for (size_t s = 0; s < tokens.size(); ++s) caches.push_back(transformer.make_cache(n_prompt + n_gen));
  std::vector<float> logits;
  for (size_t s = 0; s < tokens.size(); ++s)
    transformer.forward(std::span(tokens[s]).first(n_prompt), caches[s], logits, false);
  std::vector<model::SequenceSlice> batch(tokens.size());
  const auto start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < n_gen; ++step) {
    for (size_t s = 0; s < tokens.size(); ++s)
      batch[s] = {std::span(tokens[s]).subspan(n_prompt + step, 1), &caches[s], false};
    transformer.forward(batch, logits);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::vector<double> run_batched_decode(model::Transformer& transformer, int64_t n_sequences, int64_t n_prompt,
                                       int64_t n_gen, int repetitions, uint64_t seed,
                                       const std::function<void(int, double)>& on_sample) {
  MOE_CHECK(repetitions >= 1, UsageError, "-r: repetitions must be >= 1, got ", repetitions);
  MOE_CHECK(n_sequences >= 1 && n_prompt >= 1 && n_gen >= 1, UsageError,
            "--batch: needs at least one sequence, a prompt (-p) and a decode length (-n)");
  std::vector<std::vector<int32_t>> tokens;
  for (int64_t s = 0; s < n_sequences; ++s)
    tokens.push_back(random_tokens(n_prompt + n_gen, transformer.vocab_size(), seed + static_cast<uint64_t>(s)));
  time_batched_run(transformer, tokens, n_prompt, n_gen);  // warm-up
  std::vector<double> samples;
  for (int repetition = 0; repetition < repetitions; ++repetition) {
    samples.push_back(static_cast<double>(n_sequences * n_gen) /
                      time_batched_run(transformer, tokens, n_prompt, n_gen));
    if (on_sample) on_sample(repetition, samples.back());
  }
  return samples;
}

std::vector<double> run_bench_test(model::Transformer& transformer, const BenchTest& test, int repetitions,
                                   uint64_t seed, const std::function<void(int, double)>& on_sample) {
  MOE_CHECK(repetitions >= 1, UsageError, "-r: repetitions must be >= 1, got ", repetitions);
  const int64_t n_tokens = test.is_prompt() ? test.n_prompt : 1 + test.n_gen;
  const std::vector<int32_t> tokens = random_tokens(n_tokens, transformer.vocab_size(), seed);
  time_run(transformer, test, tokens);  // warm-up
  const double timed_tokens = static_cast<double>(test.is_prompt() ? test.n_prompt : test.n_gen);
  std::vector<double> samples;
  for (int repetition = 0; repetition < repetitions; ++repetition) {
    samples.push_back(timed_tokens / time_run(transformer, test, tokens));
    if (on_sample) on_sample(repetition, samples.back());
  }
  return samples;
}

}  // namespace moe::runtime
