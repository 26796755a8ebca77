// Linear forward and backward, all three products on the blocked f32 GEMM (kernels/gemm), whose
// fma chain per element makes every result independent of the thread count:
//   y  = x W^T   NT: A x [T][I], B W [O][I]
//   dx += dy W   NN: A dy [T][O], B W [O][I]   (accumulating into dx)
//   dw += dy^T x TN: A dy [T][O] read as [O] x [T], B x [T][I]
// In bf16 mode all three take bf16-rounded inputs and sum in f32 (the weights stay f32 masters).
#include "train/linear.h"

#include "kernels/gemm/gemm.h"

namespace moe::train {

using kernels::GemmLayout;

void linear_forward(float* y, const float* x, const float* w, const float* bias, int64_t T, int64_t I, int64_t O,
                    ThreadPool* pool, bool bf16) {
  if (T == 0) return;
  kernels::gemm_f32({.layout = GemmLayout::kNT,
                     .m = T,
                     .n = O,
                     .k = I,
                     .a = x,
                     .lda = I,
                     .b = w,
                     .ldb = I,
                     .c = y,
                     .ldc = O,
                     .bf16 = bf16},
                    pool);
  if (bias == nullptr) return;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < O; ++o) y[t * O + o] += bias[o];
}

void linear_input_grad(float* dx, const float* dy, const float* w, int64_t T, int64_t I, int64_t O, ThreadPool* pool,
                       bool bf16) {
  if (T == 0) return;
  kernels::gemm_f32({.layout = GemmLayout::kNN,
                     .m = T,
                     .n = I,
                     .k = O,
                     .a = dy,
                     .lda = O,
                     .b = w,
                     .ldb = I,
                     .c = dx,
                     .ldc = I,
                     .accumulate = false,
                     .bf16 = bf16},
                    pool);
}

void linear_backward(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int64_t T,
                     int64_t I, int64_t O, ThreadPool* pool, bool bf16) {
  if (T == 0) return;
  if (dx != nullptr)
    kernels::gemm_f32({.layout = GemmLayout::kNN,
                       .m = T,
                       .n = I,
                       .k = O,
                       .a = dy,
                       .lda = O,
                       .b = w,
                       .ldb = I,
                       .c = dx,
                       .ldc = I,
                       .accumulate = true,
                       .bf16 = bf16},
                      pool);
  if (dw != nullptr)
    kernels::gemm_f32({.layout = GemmLayout::kTN,
                       .m = O,
                       .n = I,
                       .k = T,
                       .a = dy,
                       .lda = O,
                       .b = x,
                       .ldb = I,
                       .c = dw,
                       .ldc = I,
                       .accumulate = true,
                       .bf16 = bf16},
                      pool);
  if (db != nullptr)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < O; ++o) db[o] += dy[t * O + o];
}

}  // namespace moe::train
