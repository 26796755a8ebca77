// matmul with i8 / f8_e4m3 weights and their scales, on every kernel level this CPU has: per-row
// and per-tensor scales of any value, the static input scale of fp8 W8A8 against the product
// computed here from the e4m3 codec in double, and the input observer.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "core/fp8.h"
#include "core/quantize.h"
#include "kernels/matmul/matmul.h"

namespace moe::kernels {
namespace {

struct Sizes {
  int64_t rows, cols, n_tokens;
};
// Odd shapes: one row, columns off every vector width, 1 / 3 / 17 tokens (direct and packed paths).
constexpr Sizes kSizes[] = {{1, 1, 1}, {3, 31, 3}, {17, 33, 17}, {5, 1000, 1}, {33, 257, 6}};

std::vector<float> uniform(int64_t n, uint32_t seed, float low, float high) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

// Codes of uniform values over the dtype's range, with the given scales.
Tensor scaled_weight(DType dtype, int64_t rows, int64_t cols, QuantScales scales, uint32_t seed) {
  const std::vector<float> values = uniform(rows * cols, seed, -1.0f, 1.0f);
  std::vector<std::byte> bytes(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    quantize_scaled_row(dtype, values.data() + r * cols, absmax_scale(dtype, 1.0f), bytes.data() + r * cols, cols);
  return Tensor::from_bytes(dtype, {rows, cols}, std::move(bytes)).with_scales(std::move(scales));
}

std::vector<IsaLevel> levels() {
  std::vector<IsaLevel> present;
  for (IsaLevel level : {IsaLevel::kRef, IsaLevel::kAvx2, IsaLevel::kAvx512})
    if (missing_feature(level, cpu_features()) == nullptr) present.push_back(level);
  return present;
}

// y = W x on `level`, for x of n_tokens rows of w.cols().
std::vector<float> product(IsaLevel level, const Tensor& w, const std::vector<float>& x, int64_t n_tokens) {
  std::vector<float> y(n_tokens * w.rows());
  matmul_with_level(level, w, {x.data(), w.cols(), y.data(), w.rows(), n_tokens}, nullptr);
  return y;
}

// The f32 kernels' bound (matmul_test.cpp): (cols / 8 + 8) roundings of 2^-24 of sum |w x|, plus
// one rounding for each scale multiplication.
double tolerance(int64_t cols, double sum_abs) { return (cols / 8.0 + 10.0) * 0x1p-24 * sum_abs; }

TEST(MatmulScaled, PerRowAndPerTensorScalesOfAnyValue) {
  for (DType dtype : {DType::kI8, DType::kF8_E4M3}) {
    for (const Sizes& s : kSizes) {
      for (bool per_row : {true, false}) {
        const std::vector<float> scale_values = uniform(per_row ? s.rows : 1, 7, 1e-3f, 3e-2f);
        const Tensor w = scaled_weight(dtype, s.rows, s.cols, {scale_values, std::nullopt}, 5);
        const std::vector<float> x = uniform(s.n_tokens * s.cols, 9, -2.0f, 2.0f);
        const std::vector<float> w_f32 = w.to_f32();  // codes times scales, checked below
        for (int64_t r = 0; r < s.rows; ++r) {
          std::vector<float> codes(s.cols);
          dequantize_row(dtype, w.row(r), codes.data(), s.cols);
          for (int64_t c = 0; c < s.cols; ++c)
            ASSERT_EQ(w_f32[r * s.cols + c], codes[c] * scale_values[per_row ? r : 0]);
        }
        for (IsaLevel level : levels()) {
          const std::vector<float> y = product(level, w, x, s.n_tokens);
          for (int64_t t = 0; t < s.n_tokens; ++t)
            for (int64_t r = 0; r < s.rows; ++r) {
              double exact = 0.0, sum_abs = 0.0;
              for (int64_t c = 0; c < s.cols; ++c) {
                exact += static_cast<double>(w_f32[r * s.cols + c]) * x[t * s.cols + c];
                sum_abs += std::fabs(static_cast<double>(w_f32[r * s.cols + c]) * x[t * s.cols + c]);
              }
              ASSERT_NEAR(y[t * s.rows + r], exact, tolerance(s.cols, sum_abs))
                  << dtype_info(dtype).name << "/" << isa_level_name(level) << " rows " << s.rows << " cols " << s.cols
                  << " token " << t << " row " << r;
            }
        }
      }
    }
  }
}

// fp8 W8A8: y = s_w s_in sum_c w_code(c) e4m3(x(c) / s_in), activations beyond 448 s_in saturated.
TEST(MatmulScaled, StaticInputScaleQuantizesActivationsToE4m3) {
  for (const Sizes& s : kSizes) {
    const float weight_scale = 0.013f, input_scale = 1.5f / 448.0f;  // |x| up to 2: some saturate
    const Tensor w = scaled_weight(DType::kF8_E4M3, s.rows, s.cols, {{weight_scale}, input_scale}, 11);
    const std::vector<float> x = uniform(s.n_tokens * s.cols, 13, -2.0f, 2.0f);
    for (IsaLevel level : levels()) {
      const std::vector<float> y = product(level, w, x, s.n_tokens);
      for (int64_t t = 0; t < s.n_tokens; ++t)
        for (int64_t r = 0; r < s.rows; ++r) {
          double sum = 0.0, sum_abs = 0.0;
          for (int64_t c = 0; c < s.cols; ++c) {
            const double w_code = e4m3_to_f32(static_cast<uint8_t>(w.row(r)[c]));
            const double x_code = e4m3_to_f32(f32_to_e4m3(x[t * s.cols + c] / input_scale));
            sum += w_code * x_code;
            sum_abs += std::fabs(w_code * x_code);
          }
          const double scale = static_cast<double>(weight_scale) * input_scale;
          ASSERT_NEAR(y[t * s.rows + r], scale * sum, scale * tolerance(s.cols, sum_abs))
              << isa_level_name(level) << " rows " << s.rows << " cols " << s.cols << " token " << t << " row " << r;
        }
    }
  }
}

class RecordingObserver final : public InputObserver {
 public:
  void observe(const float* x, int64_t ldx, int64_t n_rows, int64_t cols) override {
    for (int64_t t = 0; t < n_rows; ++t) seen.insert(seen.end(), x + t * ldx, x + t * ldx + cols);
  }
  std::vector<float> seen;
};

TEST(MatmulScaled, ObserverSeesTheActivationsBeforeQuantization) {
  auto observer = std::make_shared<RecordingObserver>();
  const Tensor w = scaled_weight(DType::kF8_E4M3, 4, 5, {{0.5f}, 0.01f}, 3).with_observer(observer);
  const std::vector<float> x = {1, 2, 3, 4, 5, 0, 0, 0, 6, 7, 8, 9, 10, 0, 0, 0};  // 2 tokens, ldx 8
  std::vector<float> y(8);
  matmul(w, {x.data(), 8, y.data(), 4, 2}, nullptr);
  EXPECT_EQ(observer->seen, (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

}  // namespace
}  // namespace moe::kernels
