// The architectures moe.cpp reads and writes, one table each.
#include "core/error.h"
#include "model/arch/arch_table.h"

namespace moe::model {

extern const ArchTable kMixtralArch, kQwen2MoeArch, kQwen3MoeArch, kOlmoeArch, kDeepseekV2Arch, kDeepseekV3Arch;

std::span<const ArchTable* const> arch_tables() {
  static constexpr const ArchTable* kTables[] = {&kMixtralArch, &kQwen2MoeArch,   &kQwen3MoeArch,
                                                 &kOlmoeArch,   &kDeepseekV2Arch, &kDeepseekV3Arch};
  return kTables;
}

const ArchTable& arch_table(Arch arch) {
  for (const ArchTable* table : arch_tables())
    if (table->arch == arch) return *table;
  throw Error("internal error: unknown arch");
}

}  // namespace moe::model
