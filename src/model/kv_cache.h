// KvCache: the keys and values of one sequence for a pipeline stage's layers, allocated once for
// its capacity, stored as f32, f16 or int8 head vectors (kernels/kv_codec.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "kernels/kv_codec.h"

namespace moe::model {

class KvCache {
 public:
  // Layers [first_layer, first_layer + n_layers), n_kv_heads heads of head_dim per position.
  KvCache(int64_t first_layer, int64_t n_layers, int64_t capacity, int64_t n_kv_heads, int64_t head_dim,
          kernels::KvDtype dtype)
      : first_layer_(first_layer),
        capacity_(capacity),
        n_kv_heads_(n_kv_heads),
        head_dim_(head_dim),
        dtype_(dtype),
        position_bytes_(n_kv_heads * kernels::kv_head_bytes(dtype, head_dim)),
        keys_(n_layers),
        values_(n_layers) {
    for (auto& k : keys_) k.assign(capacity * position_bytes_, std::byte{0});
    for (auto& v : values_) v.assign(capacity * position_bytes_, std::byte{0});
  }
  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }
  kernels::KvDtype dtype() const { return dtype_; }
  int64_t bytes() const { return static_cast<int64_t>(keys_.size()) * 2 * capacity_ * position_bytes_; }
  const std::byte* keys(int64_t layer) const { return keys_[layer - first_layer_].data(); }
  const std::byte* values(int64_t layer) const { return values_[layer - first_layer_].data(); }
  // Stores n positions from `first` on: k, v are [n, n_kv_heads * head_dim] f32 rows.
  void store(int64_t layer, int64_t first, int64_t n, const float* k, const float* v) {
    const int64_t head_bytes = kernels::kv_head_bytes(dtype_, head_dim_);
    std::byte* key_dst = keys_[layer - first_layer_].data() + first * position_bytes_;
    std::byte* value_dst = values_[layer - first_layer_].data() + first * position_bytes_;
    for (int64_t i = 0; i < n * n_kv_heads_; ++i) {
      kernels::kv_encode(dtype_, k + i * head_dim_, key_dst + i * head_bytes, head_dim_);
      kernels::kv_encode(dtype_, v + i * head_dim_, value_dst + i * head_bytes, head_dim_);
    }
  }
  // Called once all layers have stored n new positions.
  void advance(int64_t n) { length_ += n; }
  void clear() { length_ = 0; }
  // Throws UsageError when n more tokens would not fit.
  void check_room(int64_t n) const {
    MOE_CHECK(length_ + n <= capacity_, UsageError, "--ctx: the sequence needs ", length_ + n,
              " positions but the context holds ", capacity_);
  }

 private:
  int64_t first_layer_;
  int64_t capacity_;
  int64_t n_kv_heads_;
  int64_t head_dim_;
  kernels::KvDtype dtype_;
  int64_t position_bytes_;
  int64_t length_ = 0;
  std::vector<std::vector<std::byte>> keys_;
  std::vector<std::vector<std::byte>> values_;
};

}  // namespace moe::model
