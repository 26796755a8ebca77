// Kernel level selection: CPUID-derived features, MOE_KERNELS parsing and its errors.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "kernels/cpu_features.h"

namespace moe::kernels {
namespace {

CpuFeatures avx2_only() { return {.avx2 = true, .fma = true, .f16c = true}; }

CpuFeatures avx512() {
  CpuFeatures cpu = avx2_only();
  cpu.avx512f = cpu.avx512bw = cpu.avx512vl = cpu.avx512dq = true;
  return cpu;
}

std::string error_of(const char* env_value, const CpuFeatures& cpu) {
  try {
    select_isa_level(env_value, cpu);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST(CpuFeatures, UnsetPicksTheBestLevel) {
  EXPECT_EQ(select_isa_level(nullptr, avx512()), IsaLevel::kAvx512);
  EXPECT_EQ(select_isa_level("", avx2_only()), IsaLevel::kAvx2);
  EXPECT_EQ(select_isa_level(nullptr, CpuFeatures{}), IsaLevel::kRef);
}

TEST(CpuFeatures, EnvForcesALevel) {
  EXPECT_EQ(select_isa_level("ref", avx512()), IsaLevel::kRef);
  EXPECT_EQ(select_isa_level("avx2", avx512()), IsaLevel::kAvx2);
  EXPECT_EQ(select_isa_level("avx512", avx512()), IsaLevel::kAvx512);
}

TEST(CpuFeatures, EnvLevelTheCpuLacksIsAnError) {
  EXPECT_EQ(error_of("avx512", avx2_only()), "MOE_KERNELS=avx512: this CPU lacks avx512f");
  CpuFeatures no_f16c = avx2_only();
  no_f16c.f16c = false;
  EXPECT_EQ(error_of("avx2", no_f16c), "MOE_KERNELS=avx2: this CPU lacks f16c");
  CpuFeatures no_dq = avx512();
  no_dq.avx512dq = false;
  EXPECT_EQ(error_of("avx512", no_dq), "MOE_KERNELS=avx512: this CPU lacks avx512dq");
  EXPECT_EQ(select_isa_level(nullptr, no_dq), IsaLevel::kAvx2);
}

TEST(CpuFeatures, UnknownEnvValueIsAnError) {
  EXPECT_EQ(error_of("sse", avx512()), "MOE_KERNELS=sse: expected ref, avx2 or avx512");
}

TEST(CpuFeatures, RequireNamesTheContext) {
  try {
    require_isa_level(IsaLevel::kAvx512, avx2_only(), "matmul_with_level(avx512)");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "matmul_with_level(avx512): this CPU lacks avx512f");
  }
  EXPECT_NO_THROW(require_isa_level(IsaLevel::kRef, CpuFeatures{}, "ref"));
}

TEST(CpuFeatures,
     ThisCpuHasTheMachineBaseline) {  // DESIGN.md section 8: AVX2 + FMA + F16C at least
  EXPECT_EQ(missing_feature(IsaLevel::kAvx2, cpu_features()), nullptr);
  const std::string name = isa_name();
  EXPECT_TRUE(name == "ref" || name == "avx2" || name == "avx512") << name;
}

}  // namespace
}  // namespace moe::kernels
