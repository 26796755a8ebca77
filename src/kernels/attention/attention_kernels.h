// The attention's algorithm, the same operations on every level (scalar in attention_ref.cpp, 8
// and 16 lanes in the ISA files), so all levels give the same bits. Keys come in blocks of 64
// aligned at position 0. A query row (one query head of one token at position pos) starts with
// m = -inf, sum = 0, acc[] = 0; then for each block b <= pos, with n = min(64, pos + 1 - b) keys:
//   s_j  = (fma chain over d = 0, 1, .. head_dim-1 of q[d] * k_j[d], from 0) * scale    (j < 64)
//   m'   = max(m, s_0 .. s_{n-1});  c = exp(m - m')          (the first block: c = exp(-87), sum 0)
//   p_j  = exp(s_j - m') for j < n, 0 for n <= j < 64
//   sum  = fma(sum, c, tree(p)): lane partials w[i] = ((p_i + p_{i+16}) + p_{i+32}) + p_{i+48},
//          then pairs (i, i+8), (i, i+4), (i, i+2), (0, 1)
//   acc[d] = acc[d] * c, then acc[d] = fma(p_j, v_j[d], acc[d]) for j = 0 .. n-1 in order
//   m = m'
// and at the end out[d] = acc[d] / sum. exp is exp_approx (kernels/exp_approx.h). Rows are
// independent, so a row's bits do not depend on which rows share its block (batch invariance).
#pragma once

#include <cstdint>

#include "kernels/attention/attention.h"

namespace moe::kernels {
constexpr int64_t kAttentionLanes = 16;  // head vectors are padded to a multiple of this

// One key block of one KV head, packed by the driver.
struct AttentionTile {
  const float* kt;  // keys transposed: key j's element d at kt[d * 64 + j], j < 64
  const float* v;   // value j at v + j * v_stride, padded_dim floats (zeros past head_dim)
  int64_t v_stride;
  int64_t head_dim;
  int64_t padded_dim;  // head_dim rounded up to kAttentionLanes
  float scale;         // 1 / sqrt(head_dim)
};

// The running state of one query row.
struct AttentionRow {
  const float* q;  // head_dim floats
  float* acc;      // padded_dim floats
  float* scores;   // 64 floats of scratch: the block's scores, then its weights p
  float max;
  float sum;
  int64_t n_keys;  // keys of the current block this row sees, 1 .. 64
};

// One block for rows [0, n_rows) (the algorithm's steps for one b).
void attention_block_ref(const AttentionTile& tile, AttentionRow* rows, int64_t n_rows);
void attention_block_avx2(const AttentionTile& tile, AttentionRow* rows, int64_t n_rows);
void attention_block_avx512(const AttentionTile& tile, AttentionRow* rows, int64_t n_rows);

// kt[d * 64 + j] = keys[j * stride + d] for j < n_keys, d < head_dim. Lanes n_keys <= j < 64 are
// left as they are or zeroed (ref: all; avx2: up to the next multiple of 8): the block kernels
// mask every lane at or past a row's n_keys, so a decode step's last block costs n_keys keys.
void attention_transpose_ref(const float* keys, int64_t stride, int64_t n_keys, int64_t head_dim, float* kt);
void attention_transpose_avx2(const float* keys, int64_t stride, int64_t n_keys, int64_t head_dim, float* kt);

// dst[j * dst_stride + d] = f16 src[j * src_stride + d] for j < n, d < head_dim (exact widening).
void attention_f16_rows_ref(const uint16_t* src, int64_t src_stride, int64_t n, int64_t head_dim, float* dst,
                            int64_t dst_stride);
void attention_f16_rows_avx2(const uint16_t* src, int64_t src_stride, int64_t n, int64_t head_dim, float* dst,
                             int64_t dst_stride);

}  // namespace moe::kernels
