// kernels::exp_rows: every level this CPU has gives the reference's bits (odd lengths, so the
// scalar tail runs too), and the reference is within 3e-7 relative of exp(x * scale - shift)
// computed in double from the same rounded product.
#include "kernels/exp_rows/exp_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace moe::kernels {
namespace {

std::vector<float> inputs() {
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 40.0f, -40.0f, 3.25f};
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> scores(-30.0f, 30.0f);
  for (int i = 0; i < 1000; ++i) x.push_back(scores(rng));  // an odd length: 1007
  return x;
}

TEST(ExpRows, EveryLevelGivesTheReferenceBits) {
  const std::vector<float> x = inputs();
  const int64_t n = static_cast<int64_t>(x.size());
  for (const float shift : {0.0f, 4.5f, -2.0f}) {
    std::vector<float> want(x.size());
    exp_rows_with_level(IsaLevel::kRef, x.data(), 0.125f, shift, want.data(), n);
    for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvx512}) {
      if (missing_feature(level, cpu_features()) != nullptr) continue;
      std::vector<float> got(x.size());
      exp_rows_with_level(level, x.data(), 0.125f, shift, got.data(), n);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
          << isa_level_name(level) << " shift " << shift;
    }
  }
}

TEST(ExpRows, ReferenceIsCloseToTheExactValue) {
  const std::vector<float> x = inputs();
  const float scale = 0.17677669f, shift = 1.5f;  // 1 / sqrt(32)
  std::vector<float> got(x.size());
  exp_rows_with_level(IsaLevel::kRef, x.data(), scale, shift, got.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const float t = x[i] * scale, u = t - shift;
    const double exact = std::exp(static_cast<double>(u));
    EXPECT_NEAR(got[i] / exact, 1.0, 3e-7) << x[i];
  }
}

TEST(ExpRows, InPlace) {
  std::vector<float> x = inputs(), want(x.size());
  const int64_t n = static_cast<int64_t>(x.size());
  exp_rows(x.data(), 0.5f, 1.0f, want.data(), n);
  exp_rows(x.data(), 0.5f, 1.0f, x.data(), n);
  EXPECT_EQ(0, std::memcmp(x.data(), want.data(), x.size() * sizeof(float)));
}

}  // namespace
}  // namespace moe::kernels
