// glibc's mallopt: the largest mmap threshold (32 MiB on 64-bit) and no trimming of the heap top.
#include "core/malloc_tuning.h"

#include <malloc.h>

namespace moe {

void reuse_freed_memory() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace moe
