// Experts: the SwiGLU FFNs of the experts this process holds, run as one grouped pass over an
// ExpertBatch (each expert multiplies only the rows routed to it): one expert after another with
// every thread on its rows, or, when at least two experts per thread have rows (prefill), experts
// side by side, one thread each.
#pragma once

#include <utility>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "moe/dispatcher.h"

namespace moe {

// One SwiGLU FFN: out = down(silu(gate(x)) * up(x)). gate, up: [ffn, hidden]; down: [hidden, ffn].
struct ExpertWeights {
  Tensor gate;
  Tensor up;
  Tensor down;
};

// out = down(silu(gate(x)) * up(x)) for n_rows rows of x; scratch buffers grow as needed.
void swiglu_ffn(const ExpertWeights& weights, const float* x, int64_t n_rows, float* out, std::vector<float>& gate_buf,
                std::vector<float>& up_buf, ThreadPool* pool);

class Experts {
 public:
  explicit Experts(std::vector<ExpertWeights> experts) : experts_(std::move(experts)) {}
  int64_t n_experts() const { return static_cast<int64_t>(experts_.size()); }
  const ExpertWeights& expert(int64_t index) const { return experts_[index]; }
  // out: [batch.n_rows(), hidden] results in batch row order.
  void forward(const ExpertBatch& batch, float* out, ThreadPool* pool);

 private:
  std::vector<ExpertWeights> experts_;
  std::vector<float> gate_buf_;
  std::vector<float> up_buf_;
  std::vector<std::pair<std::vector<float>, std::vector<float>>> expert_bufs_;  // gate, up per expert
};

}  // namespace moe
