// Packs weights into matmul panels (matmul_panels.h): a byte copy of each element, so the panel
// values are the weight's exactly.
#include "kernels/matmul/matmul_panels.h"

#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {

int64_t panel_bytes(DType dtype, int64_t cols) { return cols * kPanelRows * row_bytes(dtype, 1); }

bool matmul_reads_panels(DType dtype) {
  return uses_sequential_order(dtype) && isa_level() == IsaLevel::kAvx512;
}

Tensor with_matmul_panels(const Tensor& w, ThreadPool* pool) {
  if (w.n_dims() != 2 || w.rows() == 0 || !matmul_reads_panels(w.dtype())) return w;
  const int64_t element = row_bytes(w.dtype(), 1), cols = w.cols(), rows = w.rows();
  const int64_t n_panels = (rows + kPanelRows - 1) / kPanelRows, stride = panel_bytes(w.dtype(), cols);
  auto panels = std::make_shared<std::vector<std::byte>>(n_panels * stride);
  auto pack = [&](int64_t p) {
    std::byte* out = panels->data() + p * stride;
    for (int64_t i = 0; i < kPanelRows; ++i) {
      const int64_t r = p * kPanelRows + i;
      if (r >= rows) break;  // the rest of the panel stays 0
      const std::byte* row = w.row(r);
      for (int64_t c = 0; c < cols; ++c)
        std::memcpy(out + (c * kPanelRows + i) * element, row + c * element, element);
    }
  };
  if (pool == nullptr) {
    for (int64_t p = 0; p < n_panels; ++p) pack(p);
  } else {
    pool->parallel_for(n_panels, pack);
  }
  w.release_pages();
  return w.with_panels(std::move(panels));
}

}  // namespace moe::kernels
