// Matmul driver: checks the arguments, quantizes the activations once for q8_0 / q4_0 weights
// (and, for i8 / f8_e4m3 weights with a static input scale, to the weight's codes), splits the
// output into fixed tiles of rows x tokens (never by thread count, so every thread count gives
// the same bits), runs the chosen kernel per tile and applies the i8 / f8_e4m3 scales to it.
#include "kernels/matmul/matmul.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/quantize.h"
#include "kernels/matmul/matmul_kernels.h"
#include "kernels/matmul/matmul_panels.h"

namespace moe::kernels {
namespace {

// A kernel call (a tile) is at most kRowTile rows x kTokenTile tokens (the ISA kernels keep its
// partial sums on the stack): prefill reuses each weight chunk 32 times.
constexpr int64_t kRowTile = kMatmulMaxRows;
constexpr int64_t kTokenTile = kMatmulMaxTokens;
// With one token tile (decode, small batches) a task takes this many consecutive row tiles: each
// thread then reads long runs of rows, and the kernels' prefetch of the next micro-kernel's rows
// is wasted only at a task's end (with two threads taking alternate 32-row tasks, a quarter of
// all rows started unprefetched).
constexpr int64_t kDecodeTilesPerTask = 4;

struct MatmulTable {
  IsaLevel level;
  MatmulBlockFn f32, f16, bf16, q8_0, q4_0, q4_K, q6_K, i8, f8_e4m3, q5_K, q3_K, q2_K;

  MatmulBlockFn get(DType dtype) const {
    switch (dtype) {
      case DType::kF32:
        return f32;
      case DType::kF16:
        return f16;
      case DType::kBF16:
        return bf16;
      case DType::kQ8_0:
        return q8_0;
      case DType::kQ4_0:
        return q4_0;
      case DType::kQ4_K:
        return q4_K;
      case DType::kQ6_K:
        return q6_K;
      case DType::kQ5_K:
        return q5_K;
      case DType::kQ3_K:
        return q3_K;
      case DType::kQ2_K:
        return q2_K;
      case DType::kI8:
        return i8;
      case DType::kF8_E4M3:
        return f8_e4m3;
    }
    MOE_ASSERT(false);
    return nullptr;
  }
};

const MatmulTable& plain_table_for(IsaLevel level) {
  static const MatmulTable tables[] = {
      {IsaLevel::kRef, matmul_ref, matmul_ref, matmul_ref, matmul_ref, matmul_ref, matmul_ref, matmul_ref, matmul_ref,
       matmul_ref, matmul_ref, matmul_ref, matmul_ref},
      {IsaLevel::kAvx2, matmul_f32_avx2, matmul_f16_avx2, matmul_bf16_avx2, matmul_q8_0_avx2, matmul_q4_0_avx2,
       matmul_q4_K_avx2, matmul_q6_K_avx2, matmul_i8_avx2, matmul_f8_e4m3_avx2, matmul_q5_K_avx2, matmul_q3_K_avx2,
       matmul_q2_K_avx2},
      {IsaLevel::kAvx512, matmul_f32_avx512, matmul_f16_avx512, matmul_bf16_avx512, matmul_q8_0_avx512,
       matmul_q4_0_avx512, matmul_q4_K_avx512, matmul_q6_K_avx512, matmul_i8_avx512, matmul_f8_e4m3_avx512,
       matmul_q5_K_avx512, matmul_q3_K_avx512, matmul_q2_K_avx512},
  };
  return tables[static_cast<int>(level)];
}

// The AVX-512 table with the VNNI kernels where this CPU has VNNI (the same bits either way).
MatmulTable with_vnni(MatmulTable table) {
  if (cpu_features().avx512_vnni) {
    table.q8_0 = matmul_q8_0_avx512vnni;
    table.q4_0 = matmul_q4_0_avx512vnni;
  }
  return table;
}

const MatmulTable& table_for(IsaLevel level) {
  static const MatmulTable avx512_best = with_vnni(plain_table_for(IsaLevel::kAvx512));
  return level == IsaLevel::kAvx512 ? avx512_best : plain_table_for(level);
}

// Activations of a matmul call quantized for the q8_0 / q4_0 kernels (MatmulBlock::xq): every
// token once, before the row tasks, so all tiles and threads share the same integers.
struct QuantizedActivations {
  std::vector<int8_t> qs;
  std::vector<float> d;
  std::vector<int32_t> bias;

  QuantizedActivations(IsaLevel level, DType dtype, const MatmulArgs& args, int64_t cols, ThreadPool* pool)
      : qs(args.n_tokens * cols), d(args.n_tokens * (cols / kQBlock)), bias(args.n_tokens * (cols / kQBlock)) {
    const int32_t offset = quantized_bias_offset(dtype);
    const int64_t n_blocks = cols / kQBlock;
    const auto quantize = level == IsaLevel::kRef ? quantize_activations_ref : quantize_activations_avx2;
    auto quantize_token = [&](int64_t t) {
      quantize(args.x + t * args.ldx, cols, offset, qs.data() + t * cols, d.data() + t * n_blocks,
               bias.data() + t * n_blocks);
    };
    if (pool == nullptr || args.n_tokens == 1) {
      for (int64_t t = 0; t < args.n_tokens; ++t) quantize_token(t);
    } else {
      pool->parallel_for(args.n_tokens, quantize_token);
    }
  }
};

// Activations of an i8 / f8_e4m3 weight with a static input scale s (simulated W8A8, as
// TensorRT-LLM's fp8 GEMMs run): each value becomes the value of its code, code(x / s), so the
// kernels multiply code by code (products exact in f32) and the driver scales the sums by s.
std::vector<float> activation_codes(DType dtype, float input_scale, const MatmulArgs& args, int64_t cols,
                                    ThreadPool* pool) {
  std::vector<float> values(args.n_tokens * cols);
  auto quantize_token = [&](int64_t t) {
    std::vector<std::byte> codes(cols);
    quantize_scaled_row(dtype, args.x + t * args.ldx, input_scale, codes.data(), cols);
    dequantize_row(dtype, codes.data(), values.data() + t * cols, cols);
  };
  if (pool == nullptr || args.n_tokens == 1) {
    for (int64_t t = 0; t < args.n_tokens; ++t) quantize_token(t);
  } else {
    pool->parallel_for(args.n_tokens, quantize_token);
  }
  return values;
}

// The kernel table of this process, chosen once from CPUID and MOE_KERNELS.
const MatmulTable& active_table() {
  static const MatmulTable& table = table_for(isa_level());
  return table;
}

void run(const MatmulTable& table, const Tensor& w, const MatmulArgs& args, ThreadPool* pool) {
  MOE_CHECK(w.n_dims() == 2, Error, "matmul: weight must be 2-D, got ", shape_string(w.shape()));
  MOE_CHECK(args.n_tokens >= 0, Error, "matmul: n_tokens = ", args.n_tokens, " < 0");
  if (args.n_tokens == 0 || w.rows() == 0) return;
  MOE_CHECK(args.x != nullptr && args.y != nullptr, Error, "matmul: null x or y");
  MOE_CHECK(args.ldx >= w.cols(), Error, "matmul: ldx = ", args.ldx, " < cols = ", w.cols());
  MOE_CHECK(args.ldy >= w.rows(), Error, "matmul: ldy = ", args.ldy, " < rows = ", w.rows());
  if (w.observer() != nullptr) w.observer()->observe(args.x, args.ldx, args.n_tokens, w.cols());
  const MatmulBlockFn kernel = table.get(w.dtype());
  std::optional<QuantizedActivations> xq;
  if (uses_quantized_activations(w.dtype())) xq.emplace(table.level, w.dtype(), args, w.cols(), pool);
  const std::optional<float> input_scale = w.input_scale();
  std::vector<float> x_codes;
  if (input_scale) x_codes = activation_codes(w.dtype(), *input_scale, args, w.cols(), pool);
  const float* x = input_scale ? x_codes.data() : args.x;
  const int64_t ldx = input_scale ? w.cols() : args.ldx;
  const int64_t n_blocks = w.cols() / kQBlock;
  const int64_t token_tile = uses_panel_kernels(w.dtype()) ? kMatmulMaxPanelTokens : kTokenTile;
  // Panels (matmul_panels.h), on the SIMD levels: q8_0 / q4_0 kernels read only them (packed here
  // for a weight that has none); f32 / f16 / bf16 ones where the weight has them, else the rows.
  std::shared_ptr<const std::vector<std::byte>> packed;
  const std::byte* panels = nullptr;
  if (table.level != IsaLevel::kRef && uses_quantized_activations(w.dtype())) {
    if (w.panels() == nullptr) packed = pack_panels(w, pool);
    panels = packed ? packed->data() : w.panels();
  } else if (table.level != IsaLevel::kRef) {
    panels = w.panels();
  }
  const int64_t panel_stride = panels ? panel_bytes(w.dtype(), w.cols()) : 0;
  const int64_t n_row_tiles = (w.rows() + kRowTile - 1) / kRowTile;
  const int64_t n_token_tiles = (args.n_tokens + token_tile - 1) / token_tile;
  // Consecutive tiles share a row tile, so its weights are read from memory about once.
  auto tile = [&](int64_t index) {
    const int64_t row_begin = (index / n_token_tiles) * kRowTile;
    const int64_t token_begin = (index % n_token_tiles) * token_tile;
    const int64_t n_rows = std::min(kRowTile, w.rows() - row_begin);
    const int64_t n_tokens = std::min(token_tile, args.n_tokens - token_begin);
    float* y = args.y + token_begin * args.ldy + row_begin;
    kernel(MatmulBlock{
        .dtype = w.dtype(),
        .w = w.row(row_begin),
        .w_stride = w.row_bytes(),
        .n_rows = n_rows,
        .cols = w.cols(),
        .x = x + token_begin * ldx,
        .ldx = ldx,
        .y = y,
        .ldy = args.ldy,
        .n_tokens = n_tokens,
        .xq = xq ? xq->qs.data() + token_begin * w.cols() : nullptr,
        .xq_d = xq ? xq->d.data() + token_begin * n_blocks : nullptr,
        .xq_bias = xq ? xq->bias.data() + token_begin * n_blocks : nullptr,
        .panels = panels ? panels + row_begin / kPanelRows * panel_stride : nullptr,
        .panel_stride = panel_stride,
        .next_panels = panels && row_begin + kRowTile < w.rows()
                           ? panels + (row_begin + kRowTile) / kPanelRows * panel_stride
                           : nullptr,
    });
    if (w.has_scales()) {  // the sums of codes times the weight's (and the input's) scale
      for (int64_t r = 0; r < n_rows; ++r) {
        const float scale = w.row_scale(row_begin + r) * input_scale.value_or(1.0f);
        for (int64_t t = 0; t < n_tokens; ++t) y[t * args.ldy + r] *= scale;
      }
    }
  };
  const int64_t n_tiles = n_row_tiles * n_token_tiles;
  const int64_t tiles_per_task = n_token_tiles == 1 ? kDecodeTilesPerTask : 1;
  auto task = [&](int64_t index) {
    const int64_t end = std::min((index + 1) * tiles_per_task, n_tiles);
    for (int64_t i = index * tiles_per_task; i < end; ++i) tile(i);
  };
  const int64_t n_tasks = (n_tiles + tiles_per_task - 1) / tiles_per_task;
  if (pool == nullptr) {
    for (int64_t index = 0; index < n_tasks; ++index) task(index);
  } else {
    pool->parallel_for(n_tasks, task);
  }
}

}  // namespace

void matmul(const Tensor& w, const MatmulArgs& args, ThreadPool* pool) { run(active_table(), w, args, pool); }

void matmul_with_level(IsaLevel level, const Tensor& w, const MatmulArgs& args, ThreadPool* pool) {
  require_isa_level(level, cpu_features(), detail::concat("matmul_with_level(", isa_level_name(level), ")"));
  run(table_for(level), w, args, pool);
}

std::string matmul_kernel_name(DType dtype) {
  return std::string(dtype_info(dtype).name) + "/" + isa_level_name(active_table().level);
}

}  // namespace moe::kernels
