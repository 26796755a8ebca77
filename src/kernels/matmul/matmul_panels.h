// Panels: f32 / f16 / bf16 weights stored column by column in blocks of 16 rows, the layout the
// AVX-512 column-sequential kernels read. Panel p holds rows 16 p .. 16 p + 15: its column c is
// 16 consecutive values (rows past the last are 0), panel p starts at p * panel_bytes(). Decode
// then streams a panel's columns with one vector load each and prefill converts them without a
// transpose; the bits are those of the row-major weights (matmul_kernels.h), only faster.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace moe::kernels {

constexpr int64_t kPanelRows = 16;

// Bytes of one panel of a weight with `cols` columns of `dtype`.
int64_t panel_bytes(DType dtype, int64_t cols);
// True when matmul() reads panels for weights of `dtype` on this CPU (the AVX-512 kernels).
bool matmul_reads_panels(DType dtype);
// `w` with panels when matmul_reads_panels(w.dtype()) (2-D weights), then its mapped pages given
// back (Tensor::release_pages); `w` itself otherwise. `pool` may be null.
Tensor with_matmul_panels(const Tensor& w, ThreadPool* pool);

}  // namespace moe::kernels
