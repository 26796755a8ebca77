// AdamW (decoupled weight decay, as torch.optim.AdamW and Megatron-Core's Adam with weight decay)
// over fp32 parameters. It owns the moments of a range of the parameters laid end to end, so the
// distributed optimizer gives each data-parallel rank its own range and one process owns them all.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "train/tensor_slice.h"

namespace moe::train {

// One trainable tensor: its values, its gradient (same length), whether weight decay applies
// (Megatron: not to biases and 1-D tensors such as norms), and which block of the full tensor
// this rank holds (tensor parallel; whole otherwise).
struct ParamRef {
  std::string name;
  std::span<float> value;
  std::span<float> grad;
  bool decay = true;
  TensorSlice slice;
};

struct AdamWConfig {
  double beta1 = 0.9;          // adam_beta1
  double beta2 = 0.999;        // adam_beta2
  double eps = 1e-8;           // adam_eps
  double weight_decay = 0.01;  // weight_decay
};

class AdamW {
 public:
  // Owns elements [begin, end) of the concatenated parameters (end < 0: to the last element).
  AdamW(std::vector<ParamRef> params, const AdamWConfig& config, int64_t begin = 0, int64_t end = -1);

  // One update of the owned elements with learning rate `lr` (gradients already clipped), in
  // chunks on `pool` when given (element-wise: the same bits on any pool).
  void step(double lr, ThreadPool* pool = nullptr);

  int64_t steps() const { return steps_; }
  int64_t begin() const { return begin_; }
  int64_t end() const { return end_; }
  int64_t total_elements() const { return total_; }
  const std::vector<ParamRef>& params() const { return params_; }

  // Moments of the owned range and the step count, for checkpoints.
  std::vector<float>& exp_avg() { return m_; }
  std::vector<float>& exp_avg_sq() { return v_; }
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  std::vector<ParamRef> params_;
  AdamWConfig config_;
  int64_t total_ = 0;
  int64_t begin_ = 0;
  int64_t end_ = 0;
  int64_t steps_ = 0;
  std::vector<float> m_;
  std::vector<float> v_;
};

}  // namespace moe::train
