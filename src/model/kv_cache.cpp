// KvPool storage and block-table addressing; KvCache's room check.
#include "model/kv_cache.h"

#include <cstring>

#include "core/error.h"

namespace moe::model {

namespace {

std::vector<std::unique_ptr<std::byte[]>> allocate(int64_t n_layers, int64_t bytes) {
  std::vector<std::unique_ptr<std::byte[]>> layers(n_layers);
  for (auto& layer : layers) layer = std::make_unique_for_overwrite<std::byte[]>(bytes);
  return layers;
}

}  // namespace

KvPool::KvPool(int64_t first_layer, int64_t n_layers, int64_t n_blocks, int64_t n_kv_heads, int64_t head_dim,
               kernels::KvDtype dtype, bool values_are_keys)
    : first_layer_(first_layer),
      n_blocks_(n_blocks),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      dtype_(dtype),
      values_are_keys_(values_are_keys),
      position_bytes_(n_kv_heads * kernels::kv_head_bytes(dtype, head_dim)),
      keys_(allocate(n_layers, n_blocks * block_bytes_per_layer())),
      values_(allocate(values_are_keys ? 0 : n_layers, n_blocks * block_bytes_per_layer())) {}

int64_t KvPool::block_bytes(int64_t n_layers, int64_t n_kv_heads, int64_t head_dim, kernels::KvDtype dtype,
                            bool values_are_keys) {
  return n_layers * (values_are_keys ? 1 : 2) * kKvBlockPositions * n_kv_heads *
         kernels::kv_head_bytes(dtype, head_dim);
}

void KvPool::store(int64_t layer, std::span<const int32_t> table, int64_t first, int64_t n, const float* k,
                   const float* v) {
  const int64_t row = n_kv_heads_ * head_dim_;
  std::byte* keys = keys_[layer - first_layer_].get();
  std::byte* values = values_are_keys_ ? nullptr : values_[layer - first_layer_].get();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t position = first + i, slot = position % kKvBlockPositions;
    const int64_t block_at = table[position / kKvBlockPositions] * block_bytes_per_layer();
    kernels::store_kv(dtype_, k + i * row, values ? v + i * row : nullptr, n_kv_heads_, head_dim_, keys + block_at,
                      values ? values + block_at : nullptr, slot);
  }
}

void KvPool::grow(int64_t n_blocks) {
  if (n_blocks <= n_blocks_) return;
  const int64_t kept = n_blocks_ * block_bytes_per_layer();
  for (auto* layers : {&keys_, &values_})
    for (auto& layer : *layers) {
      auto grown = std::make_unique_for_overwrite<std::byte[]>(n_blocks * block_bytes_per_layer());
      std::memcpy(grown.get(), layer.get(), kept);
      layer = std::move(grown);
    }
  n_blocks_ = n_blocks;
}

KvCache::KvCache(std::unique_ptr<KvPool> own, int64_t capacity)
    : own_(std::move(own)), pool_(own_.get()), capacity_(capacity) {
  for (int64_t block = 0; block < own_->n_blocks(); ++block) blocks_.push_back(static_cast<int32_t>(block));
}

kernels::AttentionArgs KvCache::attention_args(int64_t layer) const {
  kernels::AttentionArgs args{};
  args.k_cache = keys(layer);
  args.v_cache = values(layer);
  args.kv_dtype = dtype();
  args.first_position = length_;
  args.block_table = blocks_.data();
  args.block_positions = kKvBlockPositions;
  args.values_are_keys = pool_->values_are_keys();
  return args;
}

void KvCache::check_room(int64_t n) const {
  MOE_CHECK(length_ + n <= capacity(), UsageError, "--ctx: the sequence needs ", length_ + n,
            " positions but the context holds ", capacity());
}

}  // namespace moe::model
