// Panels: weights stored in blocks of 16 rows laid side by side, the layout the panel kernels read
// (rows in the vector lanes). Panel p holds rows 16 p .. 16 p + 15 (rows past the last are 0) and
// starts at p * panel_bytes().
// - f32 / f16 / bf16: column by column, 16 consecutive values per column.
// - q8_0 / q4_0: block by block (16 x the block's bytes each): first the 16 rows' quants in
//   4-byte groups, group j (qs[4 j .. 4 j + 3] of every row, row i at byte 4 i) 64 bytes each,
//   8 groups for q8_0 and 4 for q4_0, then the 16 rows' fp16 scales.
// Every SIMD level reads them (the reference reads the rows).
// Decode then streams a panel with one vector load per column or group, and prefill converts it
// without transposing; the bits are those of the row-major weights (matmul_kernels.h).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace moe::kernels {

constexpr int64_t kPanelRows = 16;

// Bytes of one panel of a weight with `cols` columns of `dtype` (16 rows' bytes).
int64_t panel_bytes(DType dtype, int64_t cols);
// The panels of a 2-D f32 / f16 / bf16 / q8_0 / q4_0 weight. `pool` may be null.
std::shared_ptr<const std::vector<std::byte>> pack_panels(const Tensor& w, ThreadPool* pool);
// True when matmul() reads panels for weights of `dtype` on this CPU.
bool matmul_reads_panels(DType dtype);
// `w` with panels when matmul_reads_panels(w.dtype()) (2-D weights), then its mapped pages given
// back (Tensor::release_pages); `w` itself otherwise. `pool` may be null.
Tensor with_matmul_panels(const Tensor& w, ThreadPool* pool);

}  // namespace moe::kernels
