// Grouped expert execution over contiguous per-expert row blocks.
#include "moe/experts.h"

#include <algorithm>

#include "kernels/activation.h"
#include "kernels/matmul/matmul.h"

namespace moe {

void swiglu_ffn(const ExpertWeights& weights, const float* x, int64_t n_rows, float* out, std::vector<float>& gate_buf,
                std::vector<float>& up_buf, ThreadPool* pool) {
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
  std::vector<int64_t> active;
  for (int64_t e = 0; e < n_experts(); ++e)
    if (batch.expert_offsets[e + 1] > batch.expert_offsets[e]) active.push_back(e);
  auto run = [&](int64_t e, std::vector<float>& gate_buf, std::vector<float>& up_buf, ThreadPool* threads) {
    const int64_t begin = batch.expert_offsets[e], n_rows = batch.expert_offsets[e + 1] - begin;
    swiglu_ffn(experts_[e], batch.rows.data() + begin * hidden, n_rows, out + begin * hidden, gate_buf, up_buf,
               threads);
  };
  const int64_t n_threads = pool == nullptr ? 1 : pool->n_threads();
  if (n_threads > 1 && static_cast<int64_t>(active.size()) >= 2 * n_threads) {
    // Prefill: experts side by side, one thread each (no barrier inside an expert, each thread
    // streams its own expert's weights). matmul's bits do not depend on threads: the same output.
    // The experts with the most rows go first, so that the last ones to start are the shortest.
    std::stable_sort(active.begin(), active.end(), [&](int64_t a, int64_t b) {
      return batch.expert_offsets[a + 1] - batch.expert_offsets[a] >
             batch.expert_offsets[b + 1] - batch.expert_offsets[b];
    });
    expert_bufs_.resize(n_experts());
    pool->parallel_for(static_cast<int64_t>(active.size()), [&](int64_t i) {
      auto& [gate_buf, up_buf] = expert_bufs_[active[i]];
      run(active[i], gate_buf, up_buf, nullptr);
    });
    return;
  }
  for (int64_t e : active) run(e, gate_buf_, up_buf_, pool);
}

}  // namespace moe
