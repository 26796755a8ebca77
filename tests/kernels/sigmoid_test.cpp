// kernels::sigmoid: every level this CPU has gives the reference's bits (odd lengths, so the
// scalar tail runs too), the reference is within 2.5e-7 absolute and 1e-6 relative of the exact
// sigmoid over [-100, 100] and at the clamp edges, infinities saturate and NaN stays NaN.
#include "kernels/sigmoid/sigmoid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace moe::kernels {
namespace {

std::vector<float> inputs() {
  std::vector<float> x = {0.0f,   -0.0f, 1e-8f,  -1e-8f, 1.0f,    -1.0f, 87.0f, -87.0f, 88.0f,
                          -88.0f, 90.0f, -90.0f, 200.0f, -200.0f, 0.5f,  -0.5f, 16.7f,  -16.7f};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wide(-100.0f, 100.0f), narrow(-8.0f, 8.0f);
  for (int i = 0; i < 3000; ++i) x.push_back(i % 2 ? wide(rng) : narrow(rng));
  x.push_back(1.5f);  // an odd length: 3019
  return x;
}

TEST(Sigmoid, EveryLevelGivesTheReferenceBits) {
  const std::vector<float> x = inputs();
  std::vector<float> want(x.size());
  sigmoid_with_level(IsaLevel::kRef, x.data(), want.data(), static_cast<int64_t>(x.size()));
  for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvx512}) {
    if (missing_feature(level, cpu_features()) != nullptr) continue;
    std::vector<float> got(x.size());
    sigmoid_with_level(level, x.data(), got.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float))) << isa_level_name(level);
  }
}

TEST(Sigmoid, ReferenceIsCloseToTheExactValue) {
  const std::vector<float> x = inputs();
  std::vector<float> got(x.size());
  sigmoid_with_level(IsaLevel::kRef, x.data(), got.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double exact = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
    EXPECT_NEAR(got[i], exact, 2.5e-7) << x[i];
    if (exact > 1e-30) {
      EXPECT_NEAR(got[i] / exact, 1.0, 1e-6) << x[i];
    }
  }
}

TEST(Sigmoid, InfinitiesSaturateAndNanPropagates) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {inf, -inf, std::nanf("")};
  x.resize(35, 0.0f);  // whole vectors on every level as well
  x[20] = std::nanf("");
  x[21] = inf;
  for (IsaLevel level : {IsaLevel::kRef, IsaLevel::kAvx2, IsaLevel::kAvx512}) {
    if (missing_feature(level, cpu_features()) != nullptr) continue;
    std::vector<float> y(x.size());
    sigmoid_with_level(level, x.data(), y.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(y[0], 1.0f) << isa_level_name(level);
    EXPECT_LT(y[1], 1e-37f) << isa_level_name(level);
    EXPECT_TRUE(std::isnan(y[2])) << isa_level_name(level);
    EXPECT_TRUE(std::isnan(y[20])) << isa_level_name(level);
    EXPECT_EQ(y[21], 1.0f) << isa_level_name(level);
    EXPECT_EQ(y[3], 0.5f) << isa_level_name(level);
  }
}

}  // namespace
}  // namespace moe::kernels
