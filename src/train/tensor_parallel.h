// Tensor parallelism with sequence parallelism (Megatron-Core's TP + SP) for one TP group: the
// TP ranks of a data-parallel rank run the same micro-batch. Outside attention and the shared
// expert each rank holds its sequence shard: positions [r S/tp, (r+1) S/tp) of every sequence of
// the batch, [B][S/tp] rows (norms, router, routed experts, embedding, output and loss run there).
// Attention (this rank's heads) and the shared expert (this rank's ffn columns) run on whole
// sequences: their input is all-gathered over the group first, and their partial outputs, which
// sum over the ranks to the full ones, are reduce-scattered back to the shards; backward does the
// same two moves the other way round.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "parallel/communicator.h"
#include "train/tensor_slice.h"

namespace moe::train {

class TensorParallel {
 public:
  explicit TensorParallel(parallel::Communicator& group) : group_(&group) {}

  int rank() const { return group_->rank(); }
  int size() const { return group_->size(); }
  parallel::Communicator& group() { return *group_; }

  // This rank's positions of each sequence: full [B][S][width] -> [B][S/tp][width].
  template <class T>
  std::vector<T> shard(std::span<const T> full, int64_t batch, int64_t seq, int64_t width) const {
    const int64_t local = seq / size();
    std::vector<T> out(batch * local * width);
    for (int64_t b = 0; b < batch; ++b)
      std::copy_n(full.begin() + (b * seq + rank() * local) * width, local * width, out.begin() + b * local * width);
    return out;
  }
  // All-gather of the shards: [B][S/tp][H] here -> [B][S][H].
  std::vector<float> gather(const float* shard, int64_t batch, int64_t seq, int64_t H);
  // out [B][S/tp][H] += this rank's positions of the sum over the group of `partial` [B][S][H]
  // (reduce-scatter; summed in rank order, the same bits on every layout of the other groups).
  void reduce_scatter_add(float* out, const float* partial, int64_t batch, int64_t seq, int64_t H);
  // For a block whose output is a partial sum (this rank's heads or ffn columns): runs
  // compute(partial) on a zeroed whole-sequence buffer [B][S][H] and adds the group's sum of it at
  // this rank's positions to out [B][S/tp][H].
  template <class Fn>
  void add_summed(float* out, int64_t batch, int64_t seq, int64_t H, const Fn& compute) {
    std::vector<float> partial(batch * seq * H, 0.0f);
    compute(partial.data());
    reduce_scatter_add(out, partial.data(), batch, seq, H);
  }
  // The full tensor from every rank's block (collective over the group).
  Tensor gather_tensor(const Tensor& block, const TensorSlice& slice);

 private:
  parallel::Communicator* group_;
  std::vector<float> staging_;
};

}  // namespace moe::train
