// Linear layer y = x W^T (+ b) with W stored [out][in] as HF does, and its backward.
// Shapes: T rows, I inputs, O outputs.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace moe::train {

// y [T][O] = x [T][I] W^T [I][O] + bias [O] (bias may be null). y is overwritten.
// bf16: the products in kernels::gemm's bf16 mode (bf16 inputs, f32 sums); weights stay f32.
void linear_forward(float* y, const float* x, const float* w, const float* bias, int64_t T, int64_t I, int64_t O,
                    ThreadPool* pool, bool bf16 = false);

// dx [T][I] = dy W, overwritten (an input gradient that starts here, without zero-filling it first).
void linear_input_grad(float* dx, const float* dy, const float* w, int64_t T, int64_t I, int64_t O, ThreadPool* pool,
                       bool bf16 = false);

// Accumulates dx [T][I] += dy W, dw [O][I] += dy^T x, db [O] += sum_t dy. Any of dx, dw, db may be
// null (not wanted).
void linear_backward(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int64_t T,
                     int64_t I, int64_t O, ThreadPool* pool, bool bf16 = false);

}  // namespace moe::train
