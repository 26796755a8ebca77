// Linear forward and backward, all three products on the f32 matmul kernel (y = x W^T with W
// [rows][cols]), which is deterministic for any thread count:
//   dx = dy W     = matmul(weight W^T [I][O], rows dy)
//   dw = dy^T x   = matmul(weight x^T [I][T], rows dy^T)
// The transposed copies cost O(T I + T O + O I), small beside the O(T I O) products.
#include "train/linear.h"

#include <vector>

#include "core/tensor.h"
#include "kernels/matmul/matmul.h"

namespace moe::train {

namespace {

Tensor f32_view(const float* data, int64_t rows, int64_t cols) {
  return Tensor(DType::kF32, {rows, cols}, reinterpret_cast<const std::byte*>(data), nullptr);
}

std::vector<float> transpose(const float* src, int64_t rows, int64_t cols) {
  std::vector<float> out(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = src[r * cols + c];
  return out;
}

void add_into(float* dst, const std::vector<float>& values) {
  for (size_t i = 0; i < values.size(); ++i) dst[i] += values[i];
}

}  // namespace

void linear_forward(float* y, const float* x, const float* w, const float* bias, int64_t T,
                    int64_t I, int64_t O, ThreadPool* pool) {
  if (T == 0) return;
  kernels::matmul(f32_view(w, O, I), {x, I, y, O, T}, pool);
  if (bias == nullptr) return;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < O; ++o) y[t * O + o] += bias[o];
}

void linear_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                     const float* w, int64_t T, int64_t I, int64_t O, ThreadPool* pool) {
  if (T == 0) return;
  if (dx != nullptr) {
    const std::vector<float> w_t = transpose(w, O, I);
    std::vector<float> product(T * I);
    kernels::matmul(f32_view(w_t.data(), I, O), {dy, O, product.data(), I, T}, pool);
    add_into(dx, product);
  }
  if (dw != nullptr) {
    const std::vector<float> x_t = transpose(x, T, I), dy_t = transpose(dy, T, O);
    std::vector<float> product(O * I);
    kernels::matmul(f32_view(x_t.data(), I, T), {dy_t.data(), T, product.data(), I, O}, pool);
    add_into(dw, product);
  }
  if (db != nullptr)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < O; ++o) db[o] += dy[t * O + o];
}

}  // namespace moe::train
