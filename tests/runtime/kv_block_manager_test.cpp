// KvBlockManager: allocation order and exhaustion, reference counts of shared prefix blocks, reuse
// of released cached blocks by hash, the hash chain (a block's hash depends on the blocks before),
// eviction of the least recently released cached block only after the free ones, and prefix
// caching switched off.
#include "runtime/kv_block_manager.h"

#include <gtest/gtest.h>

#include <vector>

namespace moe::runtime {
namespace {

const std::vector<int32_t> kA = {1, 2, 3, 4}, kB = {5, 6, 7, 8}, kC = {9, 10, 11, 12};

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

TEST(KvBlockManager, AllocatesLowIdsFirstUntilNoneIsLeft) {
  KvBlockManager manager(3, 4, true);
  EXPECT_EQ(manager.allocate(), 0);
  EXPECT_EQ(manager.allocate(), 1);
  EXPECT_EQ(manager.allocate(), 2);
  EXPECT_EQ(manager.allocate(), std::nullopt);
  EXPECT_EQ(manager.n_used(), 3);
  EXPECT_EQ(manager.n_available(), 0);
  const int32_t one[] = {1};
  manager.release(one);
  EXPECT_EQ(manager.n_used(), 2);
  EXPECT_EQ(manager.allocate(), 1);
  manager.grow(5);
  EXPECT_EQ(manager.allocate(), 3);
  EXPECT_EQ(manager.n_blocks(), 5);
  EXPECT_EQ(manager.blocks_for(9), 3);
}

TEST(KvBlockManager, SharedPrefixBlocksAreCountedAndReusedAfterRelease) {
  KvBlockManager manager(4, 4, true);
  const int32_t a = *manager.allocate(), b = *manager.allocate();
  const uint64_t hash_a = manager.cache_full(a, kNoParentHash, kA);
  EXPECT_EQ(hash_a, kv_block_hash(kNoParentHash, kA));
  EXPECT_EQ(manager.cache_full(b, hash_a, kB), kv_block_hash(hash_a, kB));

  // A second sequence with the same first two blocks and a different third.
  const CachedPrefix hit = manager.match(concat({kA, kB, kC}), 3);
  EXPECT_EQ(hit.blocks, (std::vector<int32_t>{a, b}));
  EXPECT_EQ(hit.hashes, (std::vector<uint64_t>{hash_a, kv_block_hash(hash_a, kB)}));
  EXPECT_EQ(manager.n_used(), 2);  // shared, not copied
  const int32_t both[] = {a, b};
  manager.release(both);  // the first sequence leaves: the second still holds them
  EXPECT_EQ(manager.n_used(), 2);
  manager.release(both);  // no one holds them: cached, available, and still found
  EXPECT_EQ(manager.n_used(), 0);
  EXPECT_EQ(manager.n_available(), 4);
  EXPECT_EQ(manager.match(concat({kA, kB}), 1).blocks, (std::vector<int32_t>{a}));  // at most one block
  EXPECT_EQ(manager.n_used(), 1);
  EXPECT_EQ(manager.n_available(), 3);
}

TEST(KvBlockManager, ABlocksHashDependsOnTheBlocksBefore) {
  KvBlockManager manager(4, 4, true);
  const int32_t a = *manager.allocate(), b = *manager.allocate();
  manager.cache_full(b, manager.cache_full(a, kNoParentHash, kA), kB);
  // kB after kC is not kB after kA.
  const int32_t c = *manager.allocate();
  manager.cache_full(c, kNoParentHash, kC);
  EXPECT_EQ(manager.match(concat({kC, kB}), 2).blocks, (std::vector<int32_t>{c}));
  EXPECT_TRUE(manager.match(concat({kB}), 1).blocks.empty());
  // A partial block is never matched.
  EXPECT_TRUE(manager.match(std::vector<int32_t>{1, 2, 3}, 1).blocks.empty());
}

TEST(KvBlockManager, FreeBlocksGoBeforeCachedOnesAndTheLeastRecentlyReleasedIsEvictedFirst) {
  KvBlockManager manager(3, 4, true);
  const int32_t a = *manager.allocate(), b = *manager.allocate(), c = *manager.allocate();
  manager.cache_full(a, kNoParentHash, kA);
  manager.cache_full(b, kNoParentHash, kB);
  const int32_t first[] = {a}, second[] = {b}, third[] = {c};
  manager.release(first);
  manager.release(second);
  manager.release(third);  // c has no hash: free
  EXPECT_EQ(manager.allocate(), c);
  EXPECT_EQ(manager.allocate(), a);                  // released before b
  EXPECT_TRUE(manager.match(kA, 1).blocks.empty());  // its hash is forgotten
  EXPECT_EQ(manager.match(kB, 1).blocks, (std::vector<int32_t>{b}));
  EXPECT_EQ(manager.allocate(), std::nullopt);
}

TEST(KvBlockManager, ASequencesTailIsEvictedBeforeItsPrefix) {
  KvBlockManager manager(2, 4, true);
  const int32_t a = *manager.allocate(), b = *manager.allocate();
  manager.cache_full(b, manager.cache_full(a, kNoParentHash, kA), kB);
  const int32_t both[] = {a, b};
  manager.release(both);
  EXPECT_EQ(manager.allocate(), b);
  EXPECT_EQ(manager.match(concat({kA, kB}), 2).blocks, (std::vector<int32_t>{a}));
}

TEST(KvBlockManager, ACopyOfACachedBlockIsNotCachedTwice) {
  KvBlockManager manager(2, 4, true);
  const int32_t a = *manager.allocate(), copy = *manager.allocate();
  manager.cache_full(a, kNoParentHash, kA);
  manager.cache_full(copy, kNoParentHash, kA);
  const int32_t released[] = {copy};
  manager.release(released);  // uncached: free, not evictable
  EXPECT_EQ(manager.match(kA, 1).blocks, (std::vector<int32_t>{a}));
}

TEST(KvBlockManager, WithoutPrefixCachingNothingIsFound) {
  KvBlockManager manager(2, 4, false);
  const int32_t a = *manager.allocate();
  EXPECT_EQ(manager.cache_full(a, kNoParentHash, kA), kv_block_hash(kNoParentHash, kA));
  const int32_t released[] = {a};
  manager.release(released);
  EXPECT_TRUE(manager.match(kA, 1).blocks.empty());
  EXPECT_EQ(manager.n_available(), 2);
}

}  // namespace
}  // namespace moe::runtime
