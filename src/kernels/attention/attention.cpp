// Attention driver and level dispatch. Tasks run over (KV head, tile of 32 query tokens), so
// decode still has one task per KV head for the threads. Per 64-key block a task reads an f32
// cache in place (store_kv keeps a head's keys transposed and its values contiguous), or packs
// the block once (keys decoded and transposed; values decoded into contiguous zero-padded rows,
// since read in place the cache's n_kv_heads-wide stride maps them onto a few L1 sets) and runs
// the level's
// block kernel over every row of its tile that sees the block: the n_heads / n_kv_heads query
// heads of each of its tokens, so a block is loaded into L1 once for up to 64 rows. A paged cache
// is read through its block table one key block at a time: a cache block holds whole key blocks,
// so the packing, and therefore every bit, is that of a contiguous cache.
#include "kernels/attention/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/attention/attention_kernels.h"

namespace moe::kernels {
namespace {

constexpr int64_t kQueryTile = 32;

struct Kernels {
  void (*block)(const AttentionTile&, AttentionRow*, int64_t);
  void (*transpose)(const float*, int64_t, int64_t, int64_t, float*);
  void (*f16_rows)(const uint16_t*, int64_t, int64_t, int64_t, float*, int64_t);
};

// The AVX-512 level keeps AVX2's transpose and f16 widening: data movement, no arithmetic.
Kernels kernels_for(IsaLevel level) {
  switch (level) {
    case IsaLevel::kAvx512:
      return {attention_block_avx512, attention_transpose_avx2, attention_f16_rows_avx2};
    case IsaLevel::kAvx2:
      return {attention_block_avx2, attention_transpose_avx2, attention_f16_rows_avx2};
    case IsaLevel::kRef:
      break;
  }
  return {attention_block_ref, attention_transpose_ref, attention_f16_rows_ref};
}

// Decodes the head vectors of n positions of one KV head starting at `src` (cache positions
// `position_bytes` apart) into rows of padded_dim floats.
void decode_rows(const AttentionArgs& a, const Kernels& kernels, const std::byte* src, int64_t n,
                 int64_t position_bytes, float* scratch, int64_t padded_dim) {
  if (a.kv_dtype == KvDtype::kF32)
    for (int64_t j = 0; j < n; ++j) std::memcpy(scratch + j * padded_dim, src + j * position_bytes, a.head_dim * 4);
  else if (a.kv_dtype == KvDtype::kF16)
    kernels.f16_rows(reinterpret_cast<const uint16_t*>(src), position_bytes / 2, n, a.head_dim, scratch, padded_dim);
  else
    for (int64_t j = 0; j < n; ++j)
      kv_decode(a.kv_dtype, src + j * position_bytes, scratch + j * padded_dim, a.head_dim);
}

// Byte offset of cache position `position` (the first of a key block) in a.k_cache / a.v_cache.
int64_t position_offset(const AttentionArgs& a, int64_t position, int64_t position_bytes) {
  if (a.block_table == nullptr) return position * position_bytes;
  const int64_t block = a.block_table[position / a.block_positions];
  return (block * a.block_positions + position % a.block_positions) * position_bytes;
}

void attend_tile(const AttentionArgs& a, const Kernels& kernels, int64_t kv_head, int64_t token_begin,
                 int64_t token_end) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t padded_dim = (a.head_dim + kAttentionLanes - 1) / kAttentionLanes * kAttentionLanes;
  const int64_t head_bytes = kv_head_bytes(a.kv_dtype, a.head_dim);
  const int64_t position_bytes = a.n_kv_heads * head_bytes;
  const int64_t n_rows = (token_end - token_begin) * group;

  // An f32 cache with its own values is read in place (its values too when head_dim fills whole
  // vectors); else keys and values are decoded into scratch rows, which start zeroed: the padding
  // past head_dim is never written.
  const bool in_place = a.kv_dtype == KvDtype::kF32 && !a.values_are_keys;
  const bool values_in_place = in_place && padded_dim == a.head_dim;
  std::vector<float> kt(in_place ? 0 : a.head_dim * kAttentionBlock),
      key_rows(in_place ? 0 : kAttentionBlock * padded_dim),
      value_rows(values_in_place ? 0 : kAttentionBlock * padded_dim), acc(n_rows * padded_dim, 0.0f),
      scores(n_rows * kAttentionBlock);
  std::vector<AttentionRow> rows(n_rows);
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t token = token_begin + r / group, head = kv_head * group + r % group;
    rows[r] = {a.q + (token * a.n_heads + head) * a.head_dim,
               acc.data() + r * padded_dim,
               scores.data() + r * kAttentionBlock,
               -std::numeric_limits<float>::infinity(),
               0.0f,
               0};
  }

  AttentionTile tile{kt.data(), value_rows.data(), padded_dim, a.head_dim, padded_dim, a.scale};
  const int64_t last_position = a.first_position + token_end - 1;
  for (int64_t block = 0; block <= last_position; block += kAttentionBlock) {
    const int64_t n_keys = std::min(kAttentionBlock, last_position + 1 - block);
    const int64_t block_offset = position_offset(a, block, position_bytes);
    if (in_place) {  // store_kv's layout: this head's keys transposed, its values in rows of head_dim
      tile.kt = reinterpret_cast<const float*>(a.k_cache + block_offset) + kv_head * a.head_dim * kAttentionBlock;
      const float* values =
          reinterpret_cast<const float*>(a.v_cache + block_offset) + kv_head * a.head_dim * kAttentionBlock;
      if (values_in_place)
        tile.v = values;
      else
        for (int64_t j = 0; j < n_keys; ++j)
          std::memcpy(value_rows.data() + j * padded_dim, values + j * a.head_dim, a.head_dim * sizeof(float));
    } else {
      const int64_t offset = block_offset + kv_head * head_bytes;
      decode_rows(a, kernels, a.k_cache + offset, n_keys, position_bytes, key_rows.data(), padded_dim);
      kernels.transpose(key_rows.data(), padded_dim, n_keys, a.head_dim, kt.data());
      if (a.values_are_keys)
        std::copy(key_rows.begin(), key_rows.begin() + n_keys * padded_dim, value_rows.begin());
      else
        decode_rows(a, kernels, a.v_cache + offset, n_keys, position_bytes, value_rows.data(), padded_dim);
    }

    // Rows whose token sits before the block do not see it; they come first.
    const int64_t first_token = std::max(token_begin, block - a.first_position);
    const int64_t first_row = (first_token - token_begin) * group;
    for (int64_t r = first_row; r < n_rows; ++r) {
      const int64_t position = a.first_position + token_begin + r / group;
      rows[r].n_keys = std::min(kAttentionBlock, position + 1 - block);
    }
    kernels.block(tile, rows.data() + first_row, n_rows - first_row);
  }

  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t token = token_begin + r / group, head = kv_head * group + r % group;
    float* out = a.out + (token * a.n_heads + head) * a.head_dim;
    for (int64_t d = 0; d < a.head_dim; ++d) out[d] = rows[r].acc[d] / rows[r].sum;
  }
}

void check(const AttentionArgs& a) {
  MOE_CHECK(a.n_heads > 0 && a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0, ConfigError,
            "attention: n_heads = ", a.n_heads, " is not a positive multiple of n_kv_heads = ", a.n_kv_heads);
  MOE_CHECK(a.head_dim > 0 && a.first_position >= 0 && a.n_tokens >= 0, ConfigError,
            "attention: head_dim = ", a.head_dim, ", first_position = ", a.first_position, ", n_tokens = ", a.n_tokens,
            " (need > 0, >= 0, >= 0)");
  MOE_CHECK(a.scale > 0, ConfigError, "attention: scale = ", a.scale, " (need > 0)");
  MOE_CHECK(a.block_table == nullptr || (a.block_positions > 0 && a.block_positions % kAttentionBlock == 0),
            ConfigError, "attention: block_positions = ", a.block_positions, " is not a positive multiple of ",
            kAttentionBlock);
}

int64_t n_query_tiles(const AttentionArgs& a) { return (a.n_tokens + kQueryTile - 1) / kQueryTile; }

// Every call's tasks in one parallel_for (a decode step's sequences share one dispatch).
void run(IsaLevel level, std::span<const AttentionArgs> calls, ThreadPool* pool) {
  for (const AttentionArgs& a : calls) check(a);
  const Kernels kernels = kernels_for(level);
  std::vector<int64_t> first_task(calls.size() + 1, 0);
  for (size_t c = 0; c < calls.size(); ++c)
    first_task[c + 1] = first_task[c] + n_query_tiles(calls[c]) * calls[c].n_kv_heads;
  // Within a call the last tiles see the most keys: they go first so that the threads finish
  // together.
  auto task = [&](int64_t index) {
    const auto c = std::upper_bound(first_task.begin(), first_task.end(), index) - first_task.begin() - 1;
    const AttentionArgs& a = calls[c];
    const int64_t local = index - first_task[c];
    const int64_t tile = n_query_tiles(a) - 1 - local / a.n_kv_heads, kv_head = local % a.n_kv_heads;
    attend_tile(a, kernels, kv_head, tile * kQueryTile, std::min(a.n_tokens, (tile + 1) * kQueryTile));
  };
  if (pool != nullptr)
    pool->parallel_for(first_task.back(), task);
  else
    for (int64_t i = 0; i < first_task.back(); ++i) task(i);
}

}  // namespace

void store_kv(KvDtype dtype, const float* k, const float* v, int64_t n_kv_heads, int64_t head_dim, std::byte* k_block,
              std::byte* v_block, int64_t slot) {
  const int64_t head_bytes = kv_head_bytes(dtype, head_dim), position_bytes = n_kv_heads * head_bytes;
  if (dtype != KvDtype::kF32 || v == nullptr) {
    for (int64_t head = 0; head < n_kv_heads; ++head) {
      kv_encode(dtype, k + head * head_dim, k_block + slot * position_bytes + head * head_bytes, head_dim);
      if (v != nullptr)
        kv_encode(dtype, v + head * head_dim, v_block + slot * position_bytes + head * head_bytes, head_dim);
    }
    return;
  }
  auto* keys = reinterpret_cast<float*>(k_block);
  auto* values = reinterpret_cast<float*>(v_block);
  for (int64_t i = 0; i < n_kv_heads * head_dim; ++i) keys[i * kAttentionBlock + slot] = k[i];
  for (int64_t head = 0; head < n_kv_heads; ++head)
    std::memcpy(values + (head * kAttentionBlock + slot) * head_dim, v + head * head_dim, head_dim * sizeof(float));
}

void attention(const AttentionArgs& args, ThreadPool* pool) { run(isa_level(), {&args, 1}, pool); }

void attention(std::span<const AttentionArgs> calls, ThreadPool* pool) { run(isa_level(), calls, pool); }

void attention_with_level(IsaLevel level, const AttentionArgs& args, ThreadPool* pool) {
  require_isa_level(level, cpu_features(), "attention_with_level");
  run(level, {&args, 1}, pool);
}

}  // namespace moe::kernels
