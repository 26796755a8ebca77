// Keeps freed large buffers in the heap for reuse. glibc maps every allocation above its mmap
// threshold (128 KiB, raised dynamically up to 32 MiB) afresh and unmaps it when freed, so a
// training step's activation and gradient buffers, allocated and freed every step, page-fault
// again every step (~3 % of a MoE layer's forward + backward). PyTorch's tuned setting does the
// same through GLIBC_TUNABLES. Training and the MoE-layer benchmark call it; inference does not:
// its peak RSS is budgeted, and it allocates little per token.
#pragma once

namespace moe {

void reuse_freed_memory();

}  // namespace moe
