// CPUID leaf 1 / leaf 7 feature bits, checked against XCR0 so that a feature counts only when the
// OS saves its registers (AVX state for AVX2, opmask + ZMM state for AVX-512).
#include "kernels/cpu_features.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"

namespace moe::kernels {
namespace {

bool bit(uint32_t reg, int index) { return (reg >> index) & 1u; }

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures out;
  uint32_t eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return out;
  const bool osxsave = bit(ecx, 27) && bit(ecx, 28);  // OSXSAVE and AVX
  if (!osxsave) return out;
  const uint64_t xcr0 = xgetbv0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;                 // XMM and YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  if (!os_avx) return out;
  out.fma = bit(ecx, 12);
  out.f16c = bit(ecx, 29);
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return out;
  out.avx2 = bit(ebx, 5);
  if (os_avx512) {
    out.avx512f = bit(ebx, 16);
    out.avx512dq = bit(ebx, 17);
    out.avx512bw = bit(ebx, 30);
    out.avx512vl = bit(ebx, 31);
    out.avx512_vnni = bit(ecx, 11);
    uint32_t eax1, ebx1, ecx1, edx1;
    if (__get_cpuid_count(7, 1, &eax1, &ebx1, &ecx1, &edx1)) out.avx512_bf16 = bit(eax1, 5);
  }
  return out;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

const char* isa_level_name(IsaLevel level) {
  switch (level) {
    case IsaLevel::kRef:
      return "ref";
    case IsaLevel::kAvx2:
      return "avx2";
    case IsaLevel::kAvx512:
      return "avx512";
  }
  MOE_ASSERT(false);
}

const char* missing_feature(IsaLevel level, const CpuFeatures& cpu) {
  if (level == IsaLevel::kRef) return nullptr;
  if (!cpu.avx2) return "avx2";
  if (!cpu.fma) return "fma";
  if (!cpu.f16c) return "f16c";
  if (level == IsaLevel::kAvx2) return nullptr;
  if (!cpu.avx512f) return "avx512f";
  if (!cpu.avx512bw) return "avx512bw";
  if (!cpu.avx512vl) return "avx512vl";
  if (!cpu.avx512dq) return "avx512dq";
  return nullptr;
}

void require_isa_level(IsaLevel level, const CpuFeatures& cpu, const std::string& context) {
  const char* missing = missing_feature(level, cpu);
  MOE_CHECK(missing == nullptr, UsageError, context, ": this CPU lacks ", missing);
}

IsaLevel select_isa_level(const char* env_value, const CpuFeatures& cpu) {
  const std::string_view value = env_value != nullptr ? env_value : "";
  if (value.empty()) {
    for (IsaLevel level : {IsaLevel::kAvx512, IsaLevel::kAvx2})
      if (missing_feature(level, cpu) == nullptr) return level;
    return IsaLevel::kRef;
  }
  for (IsaLevel level : {IsaLevel::kRef, IsaLevel::kAvx2, IsaLevel::kAvx512}) {
    if (value != isa_level_name(level)) continue;
    require_isa_level(level, cpu, detail::concat("MOE_KERNELS=", value));
    return level;
  }
  throw UsageError(detail::concat("MOE_KERNELS=", value, ": expected ref, avx2 or avx512"));
}

IsaLevel isa_level() {
  static const IsaLevel level = select_isa_level(std::getenv("MOE_KERNELS"), cpu_features());
  return level;
}

std::string isa_name() { return isa_level_name(isa_level()); }

}  // namespace moe::kernels
