// Causal scaled-dot-product attention of new query tokens over a KV cache, with GQA.
// Shapes: q [n_tokens, n_heads * head_dim]; cache k/v in whole blocks of kAttentionBlock
// positions, contiguous or paged (blocks of block_positions positions, position p in block
// block_table[p / block_positions]), n_kv_heads head vectors per position, written by store_kv;
// out [n_tokens, n_heads * head_dim]. Query token t sits at position first_position + t and sees cache positions
// [0, first_position + t].
// A token's output bits depend only on its own query and the cache, never on n_tokens or the
// threads, and are the same on every ISA level (attention_kernels.h gives the algorithm).
#pragma once

#include <cstdint>
#include <span>

#include "core/thread_pool.h"
#include "kernels/cpu_features.h"
#include "kernels/kv_codec.h"

namespace moe::kernels {

// Keys are read in blocks of this many positions, aligned at position 0 (attention_kernels.h).
constexpr int64_t kAttentionBlock = 64;

struct AttentionArgs {
  const float* q;
  const std::byte* k_cache;
  const std::byte* v_cache;
  KvDtype kv_dtype;
  float* out;
  int64_t n_tokens;
  int64_t first_position;
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t head_dim;
  float scale;  // multiplies q.k (usually 1 / sqrt(head_dim))
  // Paged cache: k_cache / v_cache hold blocks of block_positions positions (a multiple of
  // kAttentionBlock, so a key block never straddles two cache blocks), and cache position p lives
  // in block block_table[p / block_positions]. nullptr: one contiguous cache.
  const int32_t* block_table = nullptr;
  int64_t block_positions = 0;
  // One cache read as keys and as values (MLA's latent: v_cache == k_cache), stored in rows for
  // every dtype (store_kv without values).
  bool values_are_keys = false;
};

// The cache layout. f16, int8 and fp8: a 64-position block holds its positions in order, each as
// n_kv_heads vectors of kv_head_bytes(dtype, head_dim) bytes. f32, read in place by the kernels
// (a decode step would otherwise copy and transpose the whole context): per KV head h a region
// of 64 * head_dim floats at float h * 64 * head_dim of the block, keys transposed (element d of
// the key at slot j at d * 64 + j of the region), values in rows (slot j at j * head_dim).
// A cache whose values are its keys (AttentionArgs::values_are_keys) keeps the rows layout for f32
// too. Stores one position: k and v [n_kv_heads * head_dim] f32, at `slot` of the blocks starting
// at k_block and v_block (v and v_block null: a values-are-keys cache). Lanes of a block not yet
// written are never read into a result.
void store_kv(KvDtype dtype, const float* k, const float* v, int64_t n_kv_heads, int64_t head_dim, std::byte* k_block,
              std::byte* v_block, int64_t slot);

void attention(const AttentionArgs& args, ThreadPool* pool);
// Several independent calls (a batch's sequences) in one dispatch to the threads; the same bits as
// one call each.
void attention(std::span<const AttentionArgs> calls, ThreadPool* pool);
// On the kernels of `level` (tests); throws UsageError if this CPU lacks it.
void attention_with_level(IsaLevel level, const AttentionArgs& args, ThreadPool* pool);

}  // namespace moe::kernels
