// KvBlockManager: the bookkeeping of a KV block pool (model/kv_cache.h's KvPool): which blocks
// sequences hold (reference counts: a cached prefix block is shared, never copied), which are free,
// and, with prefix caching, which full blocks are known by the hash of their contents (the hash of
// the block before and the token ids of the block, as vLLM's prefix cache), so that a sequence
// starting with the same tokens reuses them. A cached block no sequence holds stays reusable until
// the pool needs it: free blocks without a hash go first, then cached ones, least recently released
// first. Pure bookkeeping: the same calls give the same block ids on every rank.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace moe::runtime {

// The hash of a full block: of its parent's hash (kNoParentHash for the first block) and its tokens.
constexpr uint64_t kNoParentHash = 0x6d6f652e63707021ull;
uint64_t kv_block_hash(uint64_t parent, std::span<const int32_t> tokens);

// A prefix found in the cache: its blocks (now held by the caller) and their hashes.
struct CachedPrefix {
  std::vector<int32_t> blocks;
  std::vector<uint64_t> hashes;
};

class KvBlockManager {
 public:
  KvBlockManager(int64_t n_blocks, int64_t block_positions, bool prefix_cache);

  int64_t n_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  int64_t block_positions() const { return block_positions_; }
  bool prefix_cache() const { return prefix_cache_; }
  // Blocks some sequence holds.
  int64_t n_used() const { return n_blocks() - n_available(); }
  // Blocks a sequence can take: free ones and cached ones no sequence holds.
  int64_t n_available() const { return static_cast<int64_t>(free_.size() + evictable_.size()); }
  // Blocks covering n positions.
  int64_t blocks_for(int64_t n_positions) const { return (n_positions + block_positions_ - 1) / block_positions_; }
  // n_blocks in all, the new ones free.
  void grow(int64_t n_blocks);

  // Takes a block: a free one, else the least recently released cached one (its hash forgotten);
  // nullopt when every block is held.
  std::optional<int32_t> allocate();
  // Drops one reference to each block; a block no sequence holds becomes free, or cached if it has
  // a hash. The last block is released first, so a prefix outlives its tail.
  void release(std::span<const int32_t> blocks);
  // The longest run of cached blocks at the start of `tokens`, at most max_blocks, each now held
  // once more. Nothing without prefix caching.
  CachedPrefix match(std::span<const int32_t> tokens, int64_t max_blocks);
  // Records full block `block` (held by the caller) as holding `tokens` after the block of hash
  // `parent`; returns its hash. Another block already cached with these contents stays the one
  // found (this one is then an uncached copy). Nothing (but the hash) without prefix caching.
  uint64_t cache_full(int32_t block, uint64_t parent, std::span<const int32_t> tokens);

 private:
  struct Block {
    int32_t refs = 0;
    std::optional<uint64_t> hash;      // cached under this hash
    uint64_t parent = 0;               // the hash before it, checked on a hit with the tokens
    std::vector<int32_t> tokens;       // its token ids, checked on a hit (64-bit hashes can collide)
    std::list<int32_t>::iterator lru;  // its place in evictable_, while there
  };
  void take(int32_t block);  // one more reference

  int64_t block_positions_;
  bool prefix_cache_;
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;                      // no hash, no reference; taken from the back
  std::list<int32_t> evictable_;                   // cached, no reference; least recently released first
  std::unordered_map<uint64_t, int32_t> by_hash_;  // cached blocks
};

}  // namespace moe::runtime
