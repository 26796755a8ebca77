// gemm_f32: every layout on every kernel level this CPU has against the reference on seeded
// random data and odd shapes (k past one 256 block included), with and without accumulation, bit
// for bit (gemm.h defines one fma chain per element), in f32 and bf16 mode; thread counts; the
// references against double sums; oneDNN's sgemm (where installed) within f32 rounding of the
// reference, with the padded strides; argument errors.
#include "kernels/gemm/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "kernels/gemm/gemm_onednn.h"

namespace moe::kernels {
namespace {

struct Shape {
  int64_t m, n, k;
};

struct Problem {
  std::vector<float> a, b, c;
  GemmArgs args;
};

// Random A, B and C with padded leading dimensions (+3), so strides differ from the widths.
Problem random_problem(GemmLayout layout, Shape s, bool accumulate, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Problem p;
  const int64_t a_rows = layout == GemmLayout::kTN ? s.k : s.m, a_cols = layout == GemmLayout::kTN ? s.m : s.k;
  const int64_t b_rows = layout == GemmLayout::kNT ? s.n : s.k, b_cols = layout == GemmLayout::kNT ? s.k : s.n;
  p.a.resize(a_rows * (a_cols + 3));
  p.b.resize(b_rows * (b_cols + 3));
  p.c.resize(s.m * (s.n + 3));
  for (float& v : p.a) v = dist(rng);
  for (float& v : p.b) v = dist(rng);
  for (float& v : p.c) v = dist(rng);
  p.args = {.layout = layout,
            .m = s.m,
            .n = s.n,
            .k = s.k,
            .a = p.a.data(),
            .lda = a_cols + 3,
            .b = p.b.data(),
            .ldb = b_cols + 3,
            .c = p.c.data(),
            .ldc = s.n + 3,
            .accumulate = accumulate};
  return p;
}

std::vector<float> run_level(IsaLevel level, GemmLayout layout, Shape s, bool accumulate, ThreadPool* pool,
                             bool bf16 = false) {
  Problem p = random_problem(layout, s, accumulate, 11);
  p.args.bf16 = bf16;
  gemm_f32_with_level(level, p.args, pool);
  return p.c;
}

const GemmLayout kLayouts[] = {GemmLayout::kNT, GemmLayout::kNN, GemmLayout::kTN};
const Shape kShapes[] = {{1, 1, 1},     {1, 33, 31},    {31, 1, 33}, {13, 37, 300},
                         {33, 31, 513}, {250, 300, 70}, {12, 32, 8}};

TEST(Gemm, EveryLevelMatchesReferenceBitForBit) {
  for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvx512}) {
    if (missing_feature(level, cpu_features()) != nullptr) continue;
    for (GemmLayout layout : kLayouts)
      for (const Shape& s : kShapes)
        for (bool accumulate : {false, true}) {
          SCOPED_TRACE(testing::Message() << isa_level_name(level) << " layout " << static_cast<int>(layout) << " "
                                          << s.m << "x" << s.n << "x" << s.k << " acc " << accumulate);
          EXPECT_EQ(run_level(level, layout, s, accumulate, nullptr),
                    run_level(IsaLevel::kRef, layout, s, accumulate, nullptr));
        }
  }
}

// The data has no subnormal products or sums, where vdpbf16ps would flush to zero.
TEST(Gemm, Bf16NativeMatchesReferenceBitForBit) {
  if (!gemm_bf16_native()) GTEST_SKIP() << "no AVX-512 BF16 kernels at this level / on this CPU";
  for (GemmLayout layout : kLayouts)
    for (const Shape& s : kShapes)
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(testing::Message() << "layout " << static_cast<int>(layout) << " " << s.m << "x" << s.n << "x"
                                        << s.k << " acc " << accumulate);
        EXPECT_EQ(run_level(IsaLevel::kAvx512, layout, s, accumulate, nullptr, true),
                  run_level(IsaLevel::kRef, layout, s, accumulate, nullptr, true));
      }
}

TEST(Gemm, ThreadCountDoesNotChangeBits) {
  ThreadPool pool(3);
  for (GemmLayout layout : kLayouts) {
    const Shape s{250, 600, 300};
    EXPECT_EQ(run_level(isa_level(), layout, s, true, &pool), run_level(isa_level(), layout, s, true, nullptr));
  }
}

// oneDNN sums in its own order: within k * 2^-24 * sum |a b| (+ |c|) of the reference, elements
// outside C's n columns (the ldc padding) untouched.
TEST(Gemm, OneDnnMatchesReferenceWithinRounding) {
  if (!onednn_gemm_available()) GTEST_SKIP() << "oneDNN (libdnnl.so.2) not installed, or MOE_GEMM=moe";
  ThreadPool pool(2);
  for (GemmLayout layout : kLayouts)
    for (const Shape& s : kShapes)
      for (bool accumulate : {false, true})
        for (ThreadPool* threads : {static_cast<ThreadPool*>(nullptr), &pool}) {
          SCOPED_TRACE(testing::Message() << "layout " << static_cast<int>(layout) << " " << s.m << "x" << s.n << "x"
                                          << s.k << " acc " << accumulate << " pool " << (threads != nullptr));
          Problem p = random_problem(layout, s, accumulate, 11);
          const std::vector<float> c0 = p.c;
          gemm_f32_onednn(p.args, threads);
          const std::vector<float> want = run_level(IsaLevel::kRef, layout, s, accumulate, nullptr);
          for (int64_t i = 0; i < s.m; ++i)
            for (int64_t j = 0; j < p.args.ldc; ++j) {
              const int64_t at = i * p.args.ldc + j;
              if (j >= s.n) {
                ASSERT_EQ(p.c[at], c0[at]);
                continue;
              }
              const double bound = (s.k + 1) * 0x1p-24 * (s.k + (accumulate ? std::abs(c0[at]) : 0.0f));
              ASSERT_NEAR(p.c[at], want[at], bound) << i << ", " << j;
            }
        }
}

// The reference against a double sum: |error| <= k * 2^-24 * sum |a b| (+ |c|) per element.
TEST(Gemm, ReferenceMatchesDoubleSum) {
  for (GemmLayout layout : kLayouts) {
    const Shape s{7, 9, 300};
    Problem p = random_problem(layout, s, true, 5);
    const std::vector<float> c0 = p.c;
    gemm_f32_with_level(IsaLevel::kRef, p.args, nullptr);
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double sum = c0[i * p.args.ldc + j], magnitude = std::abs(sum);
        for (int64_t q = 0; q < s.k; ++q) {
          const double a = layout == GemmLayout::kTN ? p.a[q * p.args.lda + i] : p.a[i * p.args.lda + q];
          const double b = layout == GemmLayout::kNT ? p.b[j * p.args.ldb + q] : p.b[q * p.args.ldb + j];
          sum += a * b;
          magnitude += std::abs(a * b);
        }
        EXPECT_NEAR(p.c[i * p.args.ldc + j], sum, s.k * 0x1p-24 * magnitude);
      }
  }
}

// bf16 mode against a double sum of the bf16-rounded inputs (the pairs' products are exact):
// |error| <= k * 2^-24 * sum |a b|; and against f32 inputs within bf16's rounding, 2 * 2^-8 per product.
TEST(Gemm, Bf16ReferenceMatchesDoubleSum) {
  auto bf16 = [](float v) { return static_cast<double>(bf16_to_f32(f32_to_bf16(v))); };
  for (GemmLayout layout : kLayouts) {
    const Shape s{5, 6, 301};
    Problem p = random_problem(layout, s, false, 8);
    p.args.bf16 = true;
    gemm_f32_with_level(IsaLevel::kRef, p.args, nullptr);
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double rounded = 0, exact = 0, magnitude = 0;
        for (int64_t q = 0; q < s.k; ++q) {
          const float a = layout == GemmLayout::kTN ? p.a[q * p.args.lda + i] : p.a[i * p.args.lda + q];
          const float b = layout == GemmLayout::kNT ? p.b[j * p.args.ldb + q] : p.b[q * p.args.ldb + j];
          rounded += bf16(a) * bf16(b);
          exact += static_cast<double>(a) * b;
          magnitude += std::abs(static_cast<double>(a) * b);
        }
        EXPECT_NEAR(p.c[i * p.args.ldc + j], rounded, s.k * 0x1p-24 * magnitude);
        EXPECT_NEAR(p.c[i * p.args.ldc + j], exact, 2 * 0x1p-8 * magnitude);
      }
  }
}

TEST(Gemm, ZeroDepthOverwritesOrKeeps) {
  for (bool accumulate : {false, true}) {
    Problem p = random_problem(GemmLayout::kNN, {3, 4, 0}, accumulate, 2);
    const std::vector<float> before = p.c;
    gemm_f32(p.args, nullptr);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        EXPECT_EQ(p.c[i * p.args.ldc + j], accumulate ? before[i * p.args.ldc + j] : 0.0f);
  }
}

TEST(Gemm, RejectsShortLeadingDimension) {
  Problem p = random_problem(GemmLayout::kNT, {3, 4, 5}, false, 2);
  p.args.ldb = 4;
  EXPECT_THROW(gemm_f32(p.args, nullptr), Error);
}

}  // namespace
}  // namespace moe::kernels
