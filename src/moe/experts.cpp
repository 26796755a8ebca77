// Grouped expert execution over contiguous per-expert row blocks.
#include "moe/experts.h"

#include "kernels/activation.h"
#include "kernels/matmul/matmul.h"

namespace moe {

void swiglu_ffn(const ExpertWeights& weights, const float* x, int64_t n_rows, float* out,
                std::vector<float>& gate_buf, std::vector<float>& up_buf, ThreadPool* pool) {
  const int64_t ffn = weights.gate.rows(), hidden = weights.gate.cols();
  if (static_cast<int64_t>(gate_buf.size()) < n_rows * ffn) {
    gate_buf.resize(n_rows * ffn);
    up_buf.resize(n_rows * ffn);
  }
  kernels::matmul(weights.gate, {x, hidden, gate_buf.data(), ffn, n_rows}, pool);
  kernels::matmul(weights.up, {x, hidden, up_buf.data(), ffn, n_rows}, pool);
  kernels::swiglu(gate_buf.data(), up_buf.data(), n_rows * ffn);
  kernels::matmul(weights.down, {gate_buf.data(), ffn, out, hidden, n_rows}, pool);
}

void Experts::forward(const ExpertBatch& batch, float* out, ThreadPool* pool) {
  const int64_t hidden = batch.hidden_size;
  for (int64_t e = 0; e < n_experts(); ++e) {
    const int64_t begin = batch.expert_offsets[e], n_rows = batch.expert_offsets[e + 1] - begin;
    if (n_rows == 0) continue;
    swiglu_ffn(experts_[e], batch.rows.data() + begin * hidden, n_rows, out + begin * hidden,
               gate_buf_, up_buf_, pool);
  }
}

}  // namespace moe
