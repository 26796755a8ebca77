// AVX2 attention kernels, 8 lanes (attention_kernels.h's operations): scores of a pair of rows
// over 32 keys at a time (8 FMA chains), the p·V update of a pair of rows 32 dimensions at a time.
// The key transpose and the f16 widening are used by the AVX-512 level too. Scalar steps use
// intrinsics, not <cmath> or exp_approx: an inline function built here with AVX could be the copy
// the linker keeps for the reference level.
#include <immintrin.h>

#include <cstring>
#include <limits>

#include "kernels/attention/attention_kernels.h"
#include "kernels/exp_approx_avx2.h"

namespace moe::kernels {
namespace {

constexpr int64_t kBlock = kAttentionBlock;

// s_j for rows [0, R), all 64 keys, 32 keys per pass.
template <int R>
void scores(const AttentionTile& tile, AttentionRow* rows) {
  const __m256 scale = _mm256_set1_ps(tile.scale);
  for (int64_t half = 0; half < kBlock; half += 32) {
    __m256 acc[R][4];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int g = 0; g < 4; ++g) acc[r][g] = _mm256_setzero_ps();
    for (int64_t d = 0; d < tile.head_dim; ++d) {
      const float* k = tile.kt + d * kBlock + half;
      const __m256 k0 = _mm256_loadu_ps(k), k1 = _mm256_loadu_ps(k + 8), k2 = _mm256_loadu_ps(k + 16),
                   k3 = _mm256_loadu_ps(k + 24);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const __m256 q = _mm256_broadcast_ss(rows[r].q + d);
        acc[r][0] = _mm256_fmadd_ps(q, k0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(q, k1, acc[r][1]);
        acc[r][2] = _mm256_fmadd_ps(q, k2, acc[r][2]);
        acc[r][3] = _mm256_fmadd_ps(q, k3, acc[r][3]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int g = 0; g < 4; ++g) _mm256_storeu_ps(rows[r].scores + half + 8 * g, _mm256_mul_ps(acc[r][g], scale));
  }
}

// Turns the row's scores into weights p; updates max and sum; returns the rescale c.
float softmax(AttentionRow& row) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), n = _mm256_set1_epi32(static_cast<int>(row.n_keys));
  __m256 valid[8], mx = _mm256_set1_ps(row.max);
  for (int g = 0; g < 8; ++g) {
    valid[g] = _mm256_castsi256_ps(_mm256_cmpgt_epi32(n, _mm256_add_epi32(lane, _mm256_set1_epi32(8 * g))));
    const __m256 s = _mm256_loadu_ps(row.scores + 8 * g);
    mx = _mm256_max_ps(mx, _mm256_blendv_ps(_mm256_set1_ps(-std::numeric_limits<float>::infinity()), s, valid[g]));
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  const float new_max = _mm_cvtss_f32(m4);
  const float c = _mm256_cvtss_f32(exp_approx_avx2(_mm256_set1_ps(row.max - new_max)));

  const __m256 shift = _mm256_set1_ps(new_max);
  __m256 lanes[2];  // w[0..8) and w[8..16)
  for (int g = 0; g < 8; ++g) {
    const __m256 e = exp_approx_avx2(_mm256_sub_ps(_mm256_loadu_ps(row.scores + 8 * g), shift));
    const __m256 p = _mm256_and_ps(e, valid[g]);
    _mm256_storeu_ps(row.scores + 8 * g, p);
    lanes[g % 2] = g < 2 ? p : _mm256_add_ps(lanes[g % 2], p);
  }
  const __m256 w8 = _mm256_add_ps(lanes[0], lanes[1]);
  __m128 w = _mm_add_ps(_mm256_castps256_ps128(w8), _mm256_extractf128_ps(w8, 1));
  w = _mm_add_ps(w, _mm_movehl_ps(w, w));
  w = _mm_add_ss(w, _mm_shuffle_ps(w, w, 1));
  row.sum = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(row.sum), _mm_set_ss(c), w));
  row.max = new_max;
  return c;
}

// acc[d, d + 8C) of rows [0, R) (rescaled by `rescale` when given) += p_j v_j[...] for j in [j_begin, j_end).
template <int C, int R>
void accumulate(const AttentionTile& tile, AttentionRow* const* rows, const float* rescale, int64_t d, int64_t j_begin,
                int64_t j_end) {
  __m256 acc[R][C];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      acc[r][c] = _mm256_loadu_ps(rows[r]->acc + d + 8 * c);
      if (rescale != nullptr) acc[r][c] = _mm256_mul_ps(acc[r][c], _mm256_set1_ps(rescale[r]));
    }
  for (int64_t j = j_begin; j < j_end; ++j) {
    const float* v = tile.v + j * tile.v_stride + d;
    __m256 vc[C];
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) vc[c] = _mm256_loadu_ps(v + 8 * c);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m256 p = _mm256_broadcast_ss(rows[r]->scores + j);
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(p, vc[c], acc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(rows[r]->acc + d + 8 * c, acc[r][c]);
}

template <int R>
void accumulate_dims(const AttentionTile& tile, AttentionRow* const* rows, const float* rescale, int64_t j_begin,
                     int64_t j_end) {
  int64_t d = 0;
  for (; d + 32 <= tile.padded_dim; d += 32) accumulate<4, R>(tile, rows, rescale, d, j_begin, j_end);
  for (; d < tile.padded_dim; d += 8) accumulate<1, R>(tile, rows, rescale, d, j_begin, j_end);
}

// The p·V update of one or two rows: both together over the keys both see, then the longer alone.
void update(const AttentionTile& tile, AttentionRow* first, AttentionRow* second, const float* rescale) {
  if (second == nullptr) {
    accumulate_dims<1>(tile, &first, rescale, 0, first->n_keys);
    return;
  }
  AttentionRow* pair[2] = {first, second};
  const int64_t common = first->n_keys < second->n_keys ? first->n_keys : second->n_keys;
  accumulate_dims<2>(tile, pair, rescale, 0, common);
  AttentionRow* longer = first->n_keys > common ? first : second;
  if (longer->n_keys > common) accumulate_dims<1>(tile, &longer, nullptr, common, longer->n_keys);
}

// In-register transpose of 8 rows of 8 floats.
void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    s[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

}  // namespace

void attention_block_avx2(const AttentionTile& tile, AttentionRow* rows, int64_t n_rows) {
  for (int64_t r = 0; r < n_rows; r += 2) {
    float rescale[2];
    if (r + 1 < n_rows) {
      scores<2>(tile, rows + r);
      rescale[0] = softmax(rows[r]);
      rescale[1] = softmax(rows[r + 1]);
      update(tile, rows + r, rows + r + 1, rescale);
    } else {
      scores<1>(tile, rows + r);
      rescale[0] = softmax(rows[r]);
      update(tile, rows + r, nullptr, rescale);
    }
  }
}

void attention_transpose_avx2(const float* keys, int64_t stride, int64_t n_keys, int64_t head_dim, float* kt) {
  const int64_t whole_keys = n_keys / 8 * 8, whole_dims = head_dim / 8 * 8;
  for (int64_t j = 0; j < whole_keys; j += 8)
    for (int64_t d = 0; d < whole_dims; d += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(keys + (j + i) * stride + d);
      transpose8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(kt + (d + i) * kBlock + j, r[i]);
    }
  if (whole_keys < n_keys)  // the last keys, rows past n_keys read as zero (a decode step's block)
    for (int64_t d = 0; d < whole_dims; d += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i)
        r[i] = whole_keys + i < n_keys ? _mm256_loadu_ps(keys + (whole_keys + i) * stride + d) : _mm256_setzero_ps();
      transpose8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(kt + (d + i) * kBlock + whole_keys, r[i]);
    }
  for (int64_t d = whole_dims; d < head_dim; ++d)
    for (int64_t j = 0; j < n_keys; ++j) kt[d * kBlock + j] = keys[j * stride + d];
}

void attention_f16_rows_avx2(const uint16_t* src, int64_t src_stride, int64_t n, int64_t head_dim, float* dst,
                             int64_t dst_stride) {
  const int64_t whole = head_dim / 8 * 8;
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* from = src + j * src_stride;
    float* to = dst + j * dst_stride;
    for (int64_t d = 0; d < whole; d += 8)
      _mm256_storeu_ps(to + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(from + d))));
    if (whole < head_dim) {
      uint16_t tail[8] = {};
      float wide[8];
      std::memcpy(tail, from + whole, (head_dim - whole) * 2);
      _mm256_storeu_ps(wide, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tail))));
      std::memcpy(to + whole, wide, (head_dim - whole) * 4);
    }
  }
}

}  // namespace moe::kernels
