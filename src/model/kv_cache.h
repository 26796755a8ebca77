// KvPool: a pipeline stage's KV cache storage in fixed-size blocks (per layer, keys and values
// [n_blocks][kKvBlockPositions][n_kv_heads] head vectors stored as f32, f16, int8 or fp8,
// kernels/kv_codec.h; f32 keys transposed within a block, as kernels::store_kv lays them out);
// KvCache: one sequence's view of a pool, its block table and length. Attention reads a
// sequence's keys and values through its block table. A pool whose values are its keys (MLA's
// latent cache: attention reads the latent as both) stores keys only, in rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "kernels/attention/attention.h"
#include "kernels/kv_codec.h"

namespace moe::model {

// Positions per block. Attention reads keys in blocks of 64 positions aligned at position 0
// (kernels::kAttentionBlock): with cache blocks of the same size each key block is one cache block,
// so the kernels pack it exactly as from a contiguous cache (the same bits) and look the table up
// once per 64 keys. Smaller blocks (vLLM's 16) would split key blocks and cost a gather on every
// read; larger ones waste more of a sequence's last block and share prefixes more coarsely.
constexpr int64_t kKvBlockPositions = kernels::kAttentionBlock;

class KvPool {
 public:
  // Layers [first_layer, first_layer + n_layers), n_kv_heads heads of head_dim per position. The
  // memory is not written here: its pages are touched as blocks are first written.
  KvPool(int64_t first_layer, int64_t n_layers, int64_t n_blocks, int64_t n_kv_heads, int64_t head_dim,
         kernels::KvDtype dtype, bool values_are_keys = false);
  // Bytes of one block: every layer's keys and values (keys only when values_are_keys).
  static int64_t block_bytes(int64_t n_layers, int64_t n_kv_heads, int64_t head_dim, kernels::KvDtype dtype,
                             bool values_are_keys = false);

  int64_t n_blocks() const { return n_blocks_; }
  kernels::KvDtype dtype() const { return dtype_; }
  bool values_are_keys() const { return values_are_keys_; }
  int64_t bytes() const {
    return n_blocks_ * block_bytes(n_layers(), n_kv_heads_, head_dim_, dtype_, values_are_keys_);
  }
  const std::byte* keys(int64_t layer) const { return keys_[layer - first_layer_].get(); }
  const std::byte* values(int64_t layer) const {
    return values_are_keys_ ? keys(layer) : values_[layer - first_layer_].get();
  }
  // Stores n positions from `first` on, position p in block table[p / kKvBlockPositions]: k, v are
  // [n, n_kv_heads * head_dim] f32 rows (v unused when values_are_keys).
  void store(int64_t layer, std::span<const int32_t> table, int64_t first, int64_t n, const float* k, const float* v);
  // n_blocks in all, the first n_blocks() kept as they are.
  void grow(int64_t n_blocks);

 private:
  int64_t n_layers() const { return static_cast<int64_t>(keys_.size()); }
  int64_t block_bytes_per_layer() const { return kKvBlockPositions * position_bytes_; }

  int64_t first_layer_;
  int64_t n_blocks_;
  int64_t n_kv_heads_;
  int64_t head_dim_;
  kernels::KvDtype dtype_;
  bool values_are_keys_;
  int64_t position_bytes_;
  std::vector<std::unique_ptr<std::byte[]>> keys_, values_;  // per layer
};

class KvCache {
 public:
  // A sequence in `pool` holding no block yet: whoever owns the pool adds blocks before positions
  // are written.
  explicit KvCache(KvPool& pool) : pool_(&pool) {}
  // A cache of its own for `capacity` positions (tests, benchmarks, calibration): a private pool
  // of whole blocks, taken in order.
  KvCache(std::unique_ptr<KvPool> own, int64_t capacity);

  // Positions it may hold: its blocks' (the capacity asked for, for a cache of its own).
  int64_t capacity() const { return capacity_ ? *capacity_ : static_cast<int64_t>(blocks_.size()) * kKvBlockPositions; }
  int64_t length() const { return length_; }
  kernels::KvDtype dtype() const { return pool_->dtype(); }
  std::span<const int32_t> blocks() const { return blocks_; }
  const std::byte* keys(int64_t layer) const { return pool_->keys(layer); }
  const std::byte* values(int64_t layer) const { return pool_->values(layer); }
  void add_block(int32_t block) { blocks_.push_back(block); }
  // Starts over on `blocks`, whose first `length` positions already hold this sequence's keys and
  // values (a cached prefix), or on none.
  void reset(std::vector<int32_t> blocks = {}, int64_t length = 0) {
    blocks_ = std::move(blocks);
    length_ = length;
  }
  // Stores n positions from `first` on: k, v are [n, n_kv_heads * head_dim] f32 rows.
  void store(int64_t layer, int64_t first, int64_t n, const float* k, const float* v) {
    pool_->store(layer, blocks_, first, n, k, v);
  }
  // Attention over this sequence at `layer`: the cache's blocks, dtype and layout, queries from
  // position length() on; the caller sets the queries, the output and the head geometry.
  kernels::AttentionArgs attention_args(int64_t layer) const;
  // Called once all layers have stored n new positions.
  void advance(int64_t n) { length_ += n; }
  // Throws UsageError when n more tokens would not fit.
  void check_room(int64_t n) const;

 private:
  std::unique_ptr<KvPool> own_;  // a cache of its own; else the pool belongs to its session
  KvPool* pool_;
  std::optional<int64_t> capacity_;  // a cache of its own: the capacity asked for
  std::vector<int32_t> blocks_;      // block table
  int64_t length_ = 0;
};

}  // namespace moe::model
