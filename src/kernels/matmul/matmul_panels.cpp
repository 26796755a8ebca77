// Packs weights into matmul panels (matmul_panels.h): byte copies of each element (or 4-byte
// group, and scale), so the panels hold the weight's values exactly.
#include "kernels/matmul/matmul_panels.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul/matmul_kernels.h"

namespace moe::kernels {
namespace {

// Panel `p` of a float weight of `Element`s (the bits, whatever the float type): column c's 16
// values side by side.
template <class Element>
void pack_float_panel(const Tensor& w, int64_t p, std::byte* out) {
  auto* panel = reinterpret_cast<Element*>(out);
  const Element* rows[kPanelRows];
  const int64_t n_rows = std::min(kPanelRows, w.rows() - p * kPanelRows);
  for (int64_t i = 0; i < n_rows; ++i) rows[i] = reinterpret_cast<const Element*>(w.row(p * kPanelRows + i));
  for (int64_t c = 0; c < w.cols(); ++c)  // the panel written in order, the rows read side by side
    for (int64_t i = 0; i < n_rows; ++i) panel[c * kPanelRows + i] = rows[i][c];
}

// Panel `p` of a q8_0 / q4_0 weight: per block, the rows' 4-byte quant groups, then their scales.
template <class Block>
void pack_quantized_panel(const Tensor& w, int64_t p, std::byte* out) {
  constexpr int64_t kGroups = sizeof(Block::qs) / 4;
  const int64_t n_blocks = w.cols() / kQBlock;
  for (int64_t i = 0; i < kPanelRows && p * kPanelRows + i < w.rows(); ++i) {
    const auto* blocks = reinterpret_cast<const Block*>(w.row(p * kPanelRows + i));
    for (int64_t b = 0; b < n_blocks; ++b) {
      std::byte* panel_block = out + b * kPanelRows * static_cast<int64_t>(sizeof(Block));
      for (int64_t j = 0; j < kGroups; ++j) std::memcpy(panel_block + 64 * j + 4 * i, blocks[b].qs + 4 * j, 4);
      std::memcpy(panel_block + 64 * kGroups + 2 * i, &blocks[b].d, 2);
    }
  }
}

}  // namespace

int64_t panel_bytes(DType dtype, int64_t cols) { return kPanelRows * row_bytes(dtype, cols); }

std::shared_ptr<const std::vector<std::byte>> pack_panels(const Tensor& w, ThreadPool* pool) {
  MOE_ASSERT(w.n_dims() == 2 && uses_panel_kernels(w.dtype()));
  const int64_t n_panels = (w.rows() + kPanelRows - 1) / kPanelRows, stride = panel_bytes(w.dtype(), w.cols());
  auto panels = std::make_shared<std::vector<std::byte>>(n_panels * stride);  // zeros past the last row
  auto pack = [&](int64_t p) {
    std::byte* out = panels->data() + p * stride;
    if (w.dtype() == DType::kQ8_0)
      pack_quantized_panel<BlockQ8_0>(w, p, out);
    else if (w.dtype() == DType::kQ4_0)
      pack_quantized_panel<BlockQ4_0>(w, p, out);
    else if (w.dtype() == DType::kF32)
      pack_float_panel<uint32_t>(w, p, out);
    else
      pack_float_panel<uint16_t>(w, p, out);
  };
  if (pool == nullptr) {
    for (int64_t p = 0; p < n_panels; ++p) pack(p);
  } else {
    pool->parallel_for(n_panels, pack);
  }
  return panels;
}

bool matmul_reads_panels(DType dtype) { return uses_panel_kernels(dtype) && isa_level() != IsaLevel::kRef; }

Tensor with_matmul_panels(const Tensor& w, ThreadPool* pool) {
  if (w.n_dims() != 2 || w.rows() == 0 || !matmul_reads_panels(w.dtype())) return w;
  std::shared_ptr<const std::vector<std::byte>> panels = pack_panels(w, pool);
  w.release_pages();
  return w.with_panels(std::move(panels));
}

}  // namespace moe::kernels
