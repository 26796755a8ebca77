// The sequence-parallel gather and reduce-scatter: a shard is the rank's positions of every
// sequence, so the collectives move rank-major blocks and rows are reordered around them.
#include "train/tensor_parallel.h"

#include <algorithm>

#include "core/error.h"

namespace moe::train {

std::vector<float> TensorParallel::gather(const float* shard, int64_t batch, int64_t seq, int64_t H) {
  const int64_t local = seq / size(), block = local * H;
  std::vector<int64_t> counts;
  group_->allgatherv(shard, batch * block, staging_, counts);
  std::vector<float> full(batch * seq * H);
  for (int r = 0; r < size(); ++r)
    for (int64_t b = 0; b < batch; ++b)
      std::copy_n(staging_.begin() + (r * batch + b) * block, block, full.begin() + (b * seq + r * local) * H);
  return full;
}

void TensorParallel::reduce_scatter_add(float* out, const float* partial, int64_t batch, int64_t seq, int64_t H) {
  const int64_t local = seq / size(), block = local * H, n = batch * seq * H;
  staging_.resize(n);
  for (int r = 0; r < size(); ++r)
    for (int64_t b = 0; b < batch; ++b)
      std::copy_n(partial + (b * seq + r * local) * H, block, staging_.begin() + (r * batch + b) * block);
  group_->reduce_scatter_sum(staging_.data(), n);
  const float* mine = staging_.data() + rank() * batch * block;
  for (int64_t i = 0; i < batch * block; ++i) out[i] += mine[i];
}

Tensor TensorParallel::gather_tensor(const Tensor& block, const TensorSlice& slice) {
  MOE_ASSERT(slice.count == size() && slice.index == rank());
  const std::vector<float> values = block.to_f32();
  std::vector<int64_t> counts;
  group_->allgatherv(values.data(), static_cast<int64_t>(values.size()), staging_, counts);
  return Tensor::from_f32(slice.full_shape, slice.join(staging_));
}

}  // namespace moe::train
