// Helpers of the training tests: reading the PyTorch goldens (tests/golden/train_*.json, written by
// tests/reference/block_grads_reference.py) and comparing arrays relative to their scale.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moe::train::testing {

inline nlohmann::json load_golden(const std::string& file) {
  std::ifstream in(std::string(MOE_GOLDEN_DIR) + "/" + file);
  EXPECT_TRUE(in.good()) << file;
  return nlohmann::json::parse(in);
}

inline std::vector<float> floats(const nlohmann::json& values) { return values.get<std::vector<float>>(); }

// max |actual - expected| / max |expected|: the error relative to the array's scale (an element
// near zero is held to the scale of its neighbours, as float32 sums of mixed-sign terms are).
inline double relative_error(const std::vector<float>& actual, const std::vector<float>& expected) {
  double max_diff = 0.0, scale = 1e-30;
  for (size_t i = 0; i < expected.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(actual[i]) - expected[i]));
    scale = std::max(scale, std::abs(static_cast<double>(expected[i])));
  }
  return max_diff / scale;
}

// Expects the arrays to agree within `tolerance` relative to the expected scale, and prints the
// error seen (the tests' report).
inline void expect_close(const std::vector<float>& actual, const nlohmann::json& expected_json, double tolerance,
                         const std::string& what) {
  const std::vector<float> expected = floats(expected_json);
  ASSERT_EQ(actual.size(), expected.size()) << what;
  const double error = relative_error(actual, expected);
  std::printf("  %-40s relative error %.2e\n", what.c_str(), error);
  EXPECT_LE(error, tolerance) << what;
}

}  // namespace moe::train::testing
