// x86 CPU features (CPUID + XGETBV) and the kernel ISA level chosen from them and MOE_KERNELS.
#pragma once

#include <string>

namespace moe::kernels {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_bf16 = false;
  bool avx512_vnni = false;
};

// Kernel families, from the portable reference up; each level needs the features of the ones below.
enum class IsaLevel { kRef, kAvx2, kAvx512 };

// Features of this CPU, with AVX/AVX-512 only where the OS saves the registers; read once.
const CpuFeatures& cpu_features();
// "ref", "avx2", "avx512".
const char* isa_level_name(IsaLevel level);
// Name of the first feature `level` needs that `cpu` lacks, or nullptr when it has them all.
const char* missing_feature(IsaLevel level, const CpuFeatures& cpu);
// Throws UsageError "<context>: this CPU lacks <feature>" if `cpu` lacks a feature `level` needs.
void require_isa_level(IsaLevel level, const CpuFeatures& cpu, const std::string& context);
// The level for MOE_KERNELS = `env_value` (null or empty: the best `cpu` supports); throws
// UsageError for an unknown value or a level `cpu` lacks.
IsaLevel select_isa_level(const char* env_value, const CpuFeatures& cpu);
// The level kernels use in this process: select_isa_level(getenv("MOE_KERNELS"), cpu_features()).
IsaLevel isa_level();
// isa_level_name(isa_level()), for `moe info`.
std::string isa_name();

}  // namespace moe::kernels
