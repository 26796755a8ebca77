// KvBlockManager: reference counts, the free list, the prefix hashes and the LRU of cached blocks.
#include "runtime/kv_block_manager.h"

#include <algorithm>

#include "core/error.h"

namespace moe::runtime {

uint64_t kv_block_hash(uint64_t parent, std::span<const int32_t> tokens) {
  // FNV-1a over the parent hash and the token ids, then splitmix64's finaliser.
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](uint64_t word) {
    for (int byte = 0; byte < 8; ++byte) {
      h ^= (word >> (8 * byte)) & 0xff;
      h *= 0x100000001b3ull;
    }
  };
  mix(parent);
  for (const int32_t token : tokens) mix(static_cast<uint32_t>(token));
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

KvBlockManager::KvBlockManager(int64_t n_blocks, int64_t block_positions, bool prefix_cache)
    : block_positions_(block_positions), prefix_cache_(prefix_cache) {
  grow(n_blocks);
}

void KvBlockManager::grow(int64_t n_blocks) {
  const int64_t old = this->n_blocks();
  if (n_blocks <= old) return;
  blocks_.resize(n_blocks);
  // Free blocks are taken from the back: lower ids first.
  std::vector<int32_t> added;
  for (int64_t block = n_blocks - 1; block >= old; --block) added.push_back(static_cast<int32_t>(block));
  free_.insert(free_.begin(), added.begin(), added.end());
}

std::optional<int32_t> KvBlockManager::allocate() {
  int32_t block;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else if (!evictable_.empty()) {
    block = evictable_.front();
    evictable_.pop_front();
    Block& evicted = blocks_[block];
    by_hash_.erase(*evicted.hash);
    evicted.hash.reset();
    evicted.tokens.clear();
  } else {
    return std::nullopt;
  }
  blocks_[block].refs = 1;
  return block;
}

void KvBlockManager::release(std::span<const int32_t> blocks) {
  // The tail first, so that a sequence's prefix outlives it in the LRU order. (Reverse iterators,
  // not std::views::reverse: clang 14's concepts reject libstdc++ 12's views, and CI's sanitized
  // build uses clang.)
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    const int32_t id = *it;
    Block& block = blocks_[id];
    MOE_ASSERT(block.refs > 0);
    if (--block.refs > 0) continue;
    if (block.hash) {
      evictable_.push_back(id);
      block.lru = std::prev(evictable_.end());
    } else {
      free_.push_back(id);
    }
  }
}

void KvBlockManager::take(int32_t id) {
  Block& block = blocks_[id];
  if (block.refs++ == 0) evictable_.erase(block.lru);
}

CachedPrefix KvBlockManager::match(std::span<const int32_t> tokens, int64_t max_blocks) {
  CachedPrefix prefix;
  if (!prefix_cache_) return prefix;
  uint64_t parent = kNoParentHash;
  const int64_t n = std::min(max_blocks, static_cast<int64_t>(tokens.size()) / block_positions_);
  for (int64_t i = 0; i < n; ++i) {
    const std::span<const int32_t> block_tokens = tokens.subspan(i * block_positions_, block_positions_);
    const uint64_t hash = kv_block_hash(parent, block_tokens);
    const auto it = by_hash_.find(hash);
    if (it == by_hash_.end()) break;
    const Block& block = blocks_[it->second];
    if (block.parent != parent ||
        !std::equal(block.tokens.begin(), block.tokens.end(), block_tokens.begin(), block_tokens.end()))
      break;
    take(it->second);
    prefix.blocks.push_back(it->second);
    prefix.hashes.push_back(hash);
    parent = hash;
  }
  return prefix;
}

uint64_t KvBlockManager::cache_full(int32_t id, uint64_t parent, std::span<const int32_t> tokens) {
  const uint64_t hash = kv_block_hash(parent, tokens);
  Block& block = blocks_[id];
  if (!prefix_cache_ || block.hash || by_hash_.contains(hash)) return hash;
  block.hash = hash;
  block.parent = parent;
  block.tokens.assign(tokens.begin(), tokens.end());
  by_hash_.emplace(hash, id);
  return hash;
}

}  // namespace moe::runtime
