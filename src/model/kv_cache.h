// KvCache: the keys and values of one sequence, per layer, allocated once for its capacity.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.h"

namespace moe::model {

class KvCache {
 public:
  // Layers [first_layer, first_layer + n_layers) (a pipeline stage's), kv_dim floats per position.
  KvCache(int64_t first_layer, int64_t n_layers, int64_t capacity, int64_t kv_dim)
      : first_layer_(first_layer), capacity_(capacity), kv_dim_(kv_dim), keys_(n_layers), values_(n_layers) {
    for (auto& k : keys_) k.assign(capacity * kv_dim, 0.0f);
    for (auto& v : values_) v.assign(capacity * kv_dim, 0.0f);
  }
  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }
  int64_t kv_dim() const { return kv_dim_; }
  float* keys(int64_t layer) { return keys_[layer - first_layer_].data(); }
  float* values(int64_t layer) { return values_[layer - first_layer_].data(); }
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
  int64_t kv_dim_;
  int64_t length_ = 0;
  std::vector<std::vector<float>> keys_;
  std::vector<std::vector<float>> values_;
};

}  // namespace moe::model
