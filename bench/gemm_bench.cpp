// Training GEMM speed on one thread: BM_gemm/<layout>/<level>[/bf16]/<m>x<n>x<k>, FLOP/s per CPU
// second (the figure to hold against the FMA peak on a shared machine). The shapes are an expert's
// products in the MoE layer of issue 6 (H 1024, F 2816) at ~128 and ~512 rows per expert. Each
// case is first checked against the reference on a small shape (bit for bit: gemm.h).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/gemm/gemm.h"

namespace moe::kernels {
namespace {

struct Operands {
  std::vector<float> a, b, c;
  GemmArgs args;
};

Operands random_operands(GemmLayout layout, int64_t m, int64_t n, int64_t k, bool bf16) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Operands o{std::vector<float>(m * k), std::vector<float>(n * k), std::vector<float>(m * n), {}};
  for (float& v : o.a) v = dist(rng);
  for (float& v : o.b) v = dist(rng);
  o.args = {.layout = layout,
            .m = m,
            .n = n,
            .k = k,
            .a = o.a.data(),
            .lda = layout == GemmLayout::kTN ? m : k,
            .b = o.b.data(),
            .ldb = layout == GemmLayout::kNT ? k : n,
            .c = o.c.data(),
            .ldc = n,
            .accumulate = layout != GemmLayout::kNT,
            .bf16 = bf16};
  return o;
}

bool matches_ref(IsaLevel level, GemmLayout layout, bool bf16) {
  Operands fast = random_operands(layout, 37, 45, 301, bf16), ref = random_operands(layout, 37, 45, 301, bf16);
  gemm_f32_with_level(level, fast.args, nullptr);
  gemm_f32_with_level(IsaLevel::kRef, ref.args, nullptr);
  return fast.c == ref.c;
}

void bm_gemm(benchmark::State& state, GemmLayout layout, IsaLevel level, bool bf16, int64_t m, int64_t n, int64_t k) {
  if (!matches_ref(level, layout, bf16)) {
    state.SkipWithError("differs from ref");
    return;
  }
  Operands o = random_operands(layout, m, n, k, bf16);
  for (auto _ : state) {
    gemm_f32_with_level(level, o.args, nullptr);
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2.0 * m * n * k, benchmark::Counter::kIsRate);
}

struct Shape {
  GemmLayout layout;
  const char* name;
  int64_t m, n, k;
};

void register_all() {
  // Forward gate/up (NT) and down (NT), backward dx (NN) and dW (TN), at 128 and 512 rows.
  const Shape shapes[] = {{GemmLayout::kNT, "NT", 128, 2816, 1024}, {GemmLayout::kNT, "NT", 512, 1024, 2816},
                          {GemmLayout::kNN, "NN", 128, 1024, 2816}, {GemmLayout::kNN, "NN", 512, 2816, 1024},
                          {GemmLayout::kTN, "TN", 2816, 1024, 128}, {GemmLayout::kTN, "TN", 1024, 2816, 512}};
  for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvx512}) {
    if (missing_feature(level, cpu_features()) != nullptr) continue;
    for (bool bf16 : {false, true}) {
      if (bf16 && !(level == IsaLevel::kAvx512 && cpu_features().avx512_bf16)) continue;
      for (const Shape& s : shapes) {
        const std::string name = std::string("BM_gemm/") + s.name + "/" + isa_level_name(level) +
                                 (bf16 ? "/bf16/" : "/") + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
                                 std::to_string(s.k);
        benchmark::RegisterBenchmark(name.c_str(), bm_gemm, s.layout, level, bf16, s.m, s.n, s.k)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace
}  // namespace moe::kernels

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  moe::kernels::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
