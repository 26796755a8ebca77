// matmul speed per dtype and kernel level on one thread: BM_matmul/<dtype>/<level>/<rows>x<cols>/
// tokens:<n> (<dtype>+panels: the f32 / f16 / bf16 weight in matmul panels, as the engine holds it;
// q8_0 / q4_0 weights always are), with weight bytes/s (the decode limit) and FLOP/s
// (the prefill limit). Each case is first checked against the reference kernel on one token.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/quantize.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/matmul_kernels.h"
#include "kernels/matmul/matmul_panels.h"

namespace moe::kernels {
namespace {

constexpr int64_t kRows = 4096;
constexpr int64_t kCols = 4096;

Tensor random_weight(DType dtype) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(kCols);
  const int64_t stride = row_bytes(dtype, kCols);
  std::vector<std::byte> bytes(kRows * stride);
  const bool scaled = is_scaled_8bit(dtype);  // i8 / f8_e4m3: codes over the range, per-row scales
  for (int64_t r = 0; r < kRows; ++r) {
    for (float& v : values) v = dist(rng);
    if (scaled)
      quantize_scaled_row(dtype, values.data(), absmax_scale(dtype, 1.0f), bytes.data() + r * stride, kCols);
    else
      quantize_row(dtype, values.data(), bytes.data() + r * stride, kCols);
  }
  const Tensor w = Tensor::from_bytes(dtype, {kRows, kCols}, std::move(bytes));
  return scaled ? w.with_scales({std::vector<float>(kRows, absmax_scale(dtype, 1.0f)), std::nullopt}) : w;
}

// Largest |y - y_ref| over one token, relative to the largest |y_ref|.
double error_vs_ref(IsaLevel level, const Tensor& w, const std::vector<float>& x) {
  std::vector<float> y(kRows), y_ref(kRows);
  matmul_with_level(level, w, {.x = x.data(), .ldx = kCols, .y = y.data(), .ldy = kRows, .n_tokens = 1}, nullptr);
  matmul_with_level(IsaLevel::kRef, w, {.x = x.data(), .ldx = kCols, .y = y_ref.data(), .ldy = kRows, .n_tokens = 1},
                    nullptr);
  double max_err = 0.0, max_ref = 0.0;
  for (int64_t r = 0; r < kRows; ++r) {
    max_err = std::fmax(max_err, std::fabs(y[r] - y_ref[r]));
    max_ref = std::fmax(max_ref, std::fabs(y_ref[r]));
  }
  return max_err / max_ref;
}

void bm_matmul(benchmark::State& state, DType dtype, IsaLevel level, int64_t n_tokens, bool panels) {
  // q8_0 / q4_0 kernels read panels only (matmul packs them per call for a weight without).
  const bool pack = panels || uses_quantized_activations(dtype);
  const Tensor w = pack ? with_matmul_panels(random_weight(dtype), nullptr) : random_weight(dtype);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(n_tokens * kCols), y(n_tokens * kRows);
  for (float& v : x) v = dist(rng);
  if (const double err = error_vs_ref(level, w, x); !(err < 1e-5)) {
    state.SkipWithError(("differs from ref by " + std::to_string(err)).c_str());
    return;
  }
  const MatmulArgs args{.x = x.data(), .ldx = kCols, .y = y.data(), .ldy = kRows, .n_tokens = n_tokens};
  for (auto _ : state) {
    matmul_with_level(level, w, args, nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double iterations = static_cast<double>(state.iterations());
  state.counters["weight_bytes/s"] = benchmark::Counter(iterations * w.nbytes(), benchmark::Counter::kIsRate);
  state.counters["FLOP/s"] =
      benchmark::Counter(iterations * 2.0 * kRows * kCols * n_tokens, benchmark::Counter::kIsRate);
}

void register_all() {
  for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvx512}) {
    if (missing_feature(level, cpu_features()) != nullptr) continue;
    for (DType dtype :
         {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kI8, DType::kF8_E4M3}) {
      for (bool panels : {false, true}) {
        if (panels && !uses_sequential_order(dtype)) continue;  // q8_0 / q4_0 always have them
        for (int64_t n_tokens : {1, 4, 16, 128}) {
          const std::string name = std::string("BM_matmul/") + dtype_info(dtype).name + (panels ? "+panels" : "") +
                                   "/" + isa_level_name(level) + "/" + std::to_string(kRows) + "x" +
                                   std::to_string(kCols) + "/tokens:" + std::to_string(n_tokens);
          benchmark::RegisterBenchmark(name.c_str(), bm_matmul, dtype, level, n_tokens, panels)
              ->Unit(benchmark::kMillisecond);
        }
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
