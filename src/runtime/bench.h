// `moe bench` measurements, llama-bench's method: ppN = one forward pass of N random prompt tokens
// from an empty cache; tgN = N single-token decode steps after an untimed 1-token prompt; one
// untimed warm-up run before the timed repetitions. Plus the arithmetic that relates tokens/s to
// the machine's limits.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace moe::runtime {

// "128,512" -> {128, 512}; throws UsageError naming `option` for an empty list, a non-number or a
// value < 1.
std::vector<int64_t> parse_positive_list(const std::string& text, const std::string& option);
// -p / -n of `moe bench`: parse_positive_list, or "0" alone for no test of that kind (llama-bench's
// `-n 0`).
std::vector<int64_t> parse_size_list(const std::string& text, const std::string& option);

struct SampleStats {
  double mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1 in the denominator); 0 for one sample
};
SampleStats mean_stddev(std::span<const double> samples);

// Fraction of the read bandwidth a decode speed uses: bytes_per_token * tokens_per_s / (gbps * 1e9).
double bound_fraction_decode(int64_t bytes_per_token, double tokens_per_s, double gbps);
// FLOPs of one ppN run: 2 per active parameter for each of the N tokens, but the LM head's for the
// last token only, plus causal attention, 4 * head_dim per (head, query, visible key) per layer
// (q.k and p.v): 2 N (active - output) + 2 output + 4 head_dim heads layers N (N + 1) / 2.
double prefill_flops(const model::ModelSizes& sizes, const model::ModelConfig& config, int64_t n_prompt);
// Fraction of the FMA peak a prefill speed uses: flops_per_run * tokens_per_s / n_prompt / (gflops * 1e9).
double bound_fraction_prefill(double flops_per_run, int64_t n_prompt, double tokens_per_s, double gflops);

struct BenchTest {
  int64_t n_prompt = 0;  // ppN: N tokens in one timed forward pass (n_gen 0)
  int64_t n_gen = 0;     // tgN: N timed decode steps (n_prompt 0)
  bool is_prompt() const { return n_prompt > 0; }
  std::string name() const;  // "pp512", "tg128"
};
// Every pp test, then every tg test, in the order given.
std::vector<BenchTest> bench_tests(std::span<const int64_t> n_prompt, std::span<const int64_t> n_gen);

// n token ids drawn uniformly from [1, vocab_size) with `seed`.
std::vector<int32_t> random_tokens(int64_t n, int64_t vocab_size, uint64_t seed);

// One warm-up run, then `repetitions` timed runs of `test` on `transformer`; returns tokens/s of
// each timed run. Every run uses the same tokens (from `seed`), so runs differ only by the machine.
// on_sample(repetition, tokens_per_s) is called after each timed run.
std::vector<double> run_bench_test(model::Transformer& transformer, const BenchTest& test, int repetitions,
                                   uint64_t seed, const std::function<void(int, double)>& on_sample = {});

// Batched decode (llama-batched-bench's S_TG): n_sequences sequences, each prefilled (untimed) with
// its own n_prompt random tokens, then n_gen timed steps that decode one token of every sequence in
// one forward pass. One warm-up run, then `repetitions` timed ones; returns the aggregate decode
// tokens/s of each (n_sequences * n_gen / seconds).
std::vector<double> run_batched_decode(model::Transformer& transformer, int64_t n_sequences, int64_t n_prompt,
                                       int64_t n_gen, int repetitions, uint64_t seed,
                                       const std::function<void(int, double)>& on_sample = {});

}  // namespace moe::runtime
