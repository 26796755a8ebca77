// `moe bench` arithmetic and parsing: bound fractions and mean/stddev on hand-computed numbers,
// option lists and their one-line errors, test names, seeded prompt tokens.
#include "runtime/bench.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "model/presets.h"

namespace moe::runtime {
namespace {

// The UsageError message `parse` throws, or "" when it throws none.
template <typename Parse>
std::string usage_error(Parse parse) {
  try {
    parse();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Bench, BoundFractionDecode) {
  // 786 MB per token at 20 tokens/s = 15.72 GB/s, of 19.65 GB/s = 0.8.
  EXPECT_DOUBLE_EQ(bound_fraction_decode(786'000'000, 20.0, 19.65), 0.8);
  EXPECT_DOUBLE_EQ(bound_fraction_decode(1'000'000'000, 30.0, 30.0), 1.0);
}

TEST(Bench, BoundFractionPrefill) {
  // 40 GFLOP per run of 100 tokens at 100 tokens/s = 40 GFLOP/s, of 160 GFLOP/s = 0.25.
  EXPECT_DOUBLE_EQ(bound_fraction_prefill(40e9, 100, 100.0, 160.0), 0.25);
  EXPECT_DOUBLE_EQ(bound_fraction_prefill(85e9, 850, 850.0, 170.0), 0.5);
}

TEST(Bench, PrefillFlopsCountTheLmHeadOnceAndCausalAttention) {
  model::ModelSizes sizes;
  sizes.active_params = 1000;
  sizes.output_params = 100;
  model::ModelConfig config;
  model::LayerSpec layer;
  layer.attention.head_dim = 4;
  layer.attention.n_heads = 2;
  config.layers = model::uniform_layers(3, layer);
  // 2 * 10 tokens * 900 + 2 * 100 + 4 * (4 * 2 * 3) * (10 * 11 / 2) = 18000 + 200 + 5280.
  EXPECT_DOUBLE_EQ(prefill_flops(sizes, config, 10), 23480.0);
}

TEST(Bench, MeanStddev) {
  // Mean 5; squared deviations 9 + 1 + 1 + 9 = 20, / (4 - 1), sqrt.
  const std::vector<double> samples = {2, 4, 6, 8};
  const SampleStats stats = mean_stddev(samples);
  EXPECT_DOUBLE_EQ(stats.mean, 5.0);
  EXPECT_DOUBLE_EQ(stats.stddev, std::sqrt(20.0 / 3.0));
  const std::vector<double> one = {7.5};
  EXPECT_DOUBLE_EQ(mean_stddev(one).mean, 7.5);
  EXPECT_DOUBLE_EQ(mean_stddev(one).stddev, 0.0);
  const std::vector<double> same = {3, 3, 3};
  EXPECT_DOUBLE_EQ(mean_stddev(same).stddev, 0.0);
}

TEST(Bench, ParsePositiveList) {
  EXPECT_EQ(parse_positive_list("128,512", "-p"), (std::vector<int64_t>{128, 512}));
  EXPECT_EQ(parse_positive_list("64", "-n"), (std::vector<int64_t>{64}));
}

TEST(Bench, ParsePositiveListErrorsNameTheOption) {
  const std::string message = usage_error([] { parse_positive_list("128,abc", "-p"); });
  EXPECT_EQ(message.rfind("-p: ", 0), 0u) << message;
  EXPECT_NE(message.find("'abc'"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  for (const char* bad : {"", "0", "-1", "1,,2", "12x", "1,", " 1", "99999999999999999999"})
    EXPECT_EQ(usage_error([&] { parse_positive_list(bad, "-n"); }).rfind("-n: ", 0), 0u) << "'" << bad << "'";
  EXPECT_EQ(usage_error([] { parse_positive_list("0", "-t"); }).rfind("-t: ", 0), 0u);
}

TEST(Bench, TestNamesAndOrder) {
  const std::vector<int64_t> pp = {128, 512}, tg = {64};
  const std::vector<BenchTest> tests = bench_tests(pp, tg);
  ASSERT_EQ(tests.size(), 3u);
  EXPECT_EQ(tests[0].name(), "pp128");
  EXPECT_EQ(tests[1].name(), "pp512");
  EXPECT_EQ(tests[2].name(), "tg64");
  EXPECT_TRUE(tests[0].is_prompt());
  EXPECT_FALSE(tests[2].is_prompt());
  EXPECT_EQ(tests[2].n_prompt, 0);
  EXPECT_EQ(tests[2].n_gen, 64);
}

TEST(Bench, RandomTokensAreSeededAndInRange) {
  const std::vector<int32_t> a = random_tokens(1000, 50, 1), b = random_tokens(1000, 50, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, random_tokens(1000, 50, 2));
  for (int32_t token : a) {
    EXPECT_GE(token, 1);
    EXPECT_LT(token, 50);
  }
  EXPECT_EQ(random_tokens(3, 2, 9), (std::vector<int32_t>{1, 1, 1}));
}

TEST(Bench, RunsEveryRepetitionOnATinyModel) {
  const model::Model m = model::make_preset_model("mixtral-tiny", 3, DType::kF32);
  ThreadPool pool(2);
  model::Transformer transformer(m, pool);
  for (const BenchTest test : {BenchTest{5, 0}, BenchTest{0, 4}}) {
    std::vector<int> seen;
    const std::vector<double> samples =
        run_bench_test(transformer, test, 3, 1, [&](int repetition, double) { seen.push_back(repetition); });
    ASSERT_EQ(samples.size(), 3u) << test.name();
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
    for (double tokens_per_s : samples) EXPECT_TRUE(std::isfinite(tokens_per_s) && tokens_per_s > 0);
  }
  EXPECT_THROW(run_bench_test(transformer, BenchTest{5, 0}, 0, 1), UsageError);
}

}  // namespace
}  // namespace moe::runtime
