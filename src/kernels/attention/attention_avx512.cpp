// AVX-512 attention block kernel, 16 lanes (attention_kernels.h's operations): scores of 4 rows
// over all 64 keys (16 FMA chains), the p·V update of 4 rows 64 dimensions at a time, so each
// key and value vector loaded serves 4 rows. Scalar steps use intrinsics (see attention_avx2.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 on the intrinsics' undefined vectors
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <limits>

#include "kernels/attention/attention_kernels.h"
#include "kernels/exp_approx_avx512.h"

namespace moe::kernels {
namespace {

constexpr int64_t kBlock = kAttentionBlock;

template <int R>
void scores(const AttentionTile& tile, AttentionRow* rows) {
  __m512 acc[R][4];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int g = 0; g < 4; ++g) acc[r][g] = _mm512_setzero_ps();
  for (int64_t d = 0; d < tile.head_dim; ++d) {
    const float* k = tile.kt + d * kBlock;
    const __m512 k0 = _mm512_loadu_ps(k), k1 = _mm512_loadu_ps(k + 16), k2 = _mm512_loadu_ps(k + 32),
                 k3 = _mm512_loadu_ps(k + 48);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 q = _mm512_set1_ps(rows[r].q[d]);
      acc[r][0] = _mm512_fmadd_ps(q, k0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(q, k1, acc[r][1]);
      acc[r][2] = _mm512_fmadd_ps(q, k2, acc[r][2]);
      acc[r][3] = _mm512_fmadd_ps(q, k3, acc[r][3]);
    }
  }
  const __m512 scale = _mm512_set1_ps(tile.scale);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int g = 0; g < 4; ++g) _mm512_storeu_ps(rows[r].scores + 16 * g, _mm512_mul_ps(acc[r][g], scale));
}

// Turns the row's scores into weights p; updates max and sum; returns the rescale c.
float softmax(AttentionRow& row) {
  __mmask16 valid[4];
  __m512 mx = _mm512_set1_ps(row.max);
  const __m512 neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
#pragma GCC unroll 16
  for (int g = 0; g < 4; ++g) {
    const int64_t left = row.n_keys - 16 * g;
    valid[g] = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
    mx = _mm512_max_ps(mx, _mm512_mask_blend_ps(valid[g], neg_inf, _mm512_loadu_ps(row.scores + 16 * g)));
  }
  const __m256 m8 = _mm256_max_ps(_mm512_castps512_ps256(mx), _mm512_extractf32x8_ps(mx, 1));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  const float new_max = _mm_cvtss_f32(m4);
  const float c = _mm512_cvtss_f32(exp_approx_avx512(_mm512_set1_ps(row.max - new_max)));

  const __m512 shift = _mm512_set1_ps(new_max);
  __m512 w16 = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int g = 0; g < 4; ++g) {
    const __m512 e = exp_approx_avx512(_mm512_sub_ps(_mm512_loadu_ps(row.scores + 16 * g), shift));
    const __m512 p = _mm512_maskz_mov_ps(valid[g], e);
    _mm512_storeu_ps(row.scores + 16 * g, p);
    w16 = g == 0 ? p : _mm512_add_ps(w16, p);
  }
  const __m256 w8 = _mm256_add_ps(_mm512_castps512_ps256(w16), _mm512_extractf32x8_ps(w16, 1));
  __m128 w = _mm_add_ps(_mm256_castps256_ps128(w8), _mm256_extractf128_ps(w8, 1));
  w = _mm_add_ps(w, _mm_movehl_ps(w, w));
  w = _mm_add_ss(w, _mm_shuffle_ps(w, w, 1));
  row.sum = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(row.sum), _mm_set_ss(c), w));
  row.max = new_max;
  return c;
}

// acc[d, d + 16C) of rows [0, R) (rescaled by `rescale` when given) += p_j v_j[...] for j in [j_begin, j_end).
template <int C, int R>
void accumulate(const AttentionTile& tile, AttentionRow* const* rows, const float* rescale, int64_t d, int64_t j_begin,
                int64_t j_end) {
  __m512 acc[R][C];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      acc[r][c] = _mm512_loadu_ps(rows[r]->acc + d + 16 * c);
      if (rescale != nullptr) acc[r][c] = _mm512_mul_ps(acc[r][c], _mm512_set1_ps(rescale[r]));
    }
  for (int64_t j = j_begin; j < j_end; ++j) {
    const float* v = tile.v + j * tile.v_stride + d;
    __m512 vc[C];
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) vc[c] = _mm512_loadu_ps(v + 16 * c);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 p = _mm512_set1_ps(rows[r]->scores[j]);
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_fmadd_ps(p, vc[c], acc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) _mm512_storeu_ps(rows[r]->acc + d + 16 * c, acc[r][c]);
}

template <int R>
void accumulate_dims(const AttentionTile& tile, AttentionRow* const* rows, const float* rescale, int64_t j_begin,
                     int64_t j_end) {
  int64_t d = 0;
  for (; d + 64 <= tile.padded_dim; d += 64) accumulate<4, R>(tile, rows, rescale, d, j_begin, j_end);
  for (; d < tile.padded_dim; d += 16) accumulate<1, R>(tile, rows, rescale, d, j_begin, j_end);
}

// accumulate_dims for rows [0, n) of `rows`, n <= 4.
void accumulate_rows(const AttentionTile& tile, AttentionRow* const* rows, int n, const float* rescale, int64_t j_begin,
                     int64_t j_end) {
  switch (n) {
    case 4:
      return accumulate_dims<4>(tile, rows, rescale, j_begin, j_end);
    case 3:
      return accumulate_dims<3>(tile, rows, rescale, j_begin, j_end);
    case 2:
      return accumulate_dims<2>(tile, rows, rescale, j_begin, j_end);
    default:
      return accumulate_dims<1>(tile, rows, rescale, j_begin, j_end);
  }
}

// Scores, weights and p·V update of R rows whose n_keys do not decrease: each key range is read
// once for all the rows that see it (all R first, then the rows with more keys).
template <int R>
void block_rows(const AttentionTile& tile, AttentionRow* rows) {
  scores<R>(tile, rows);
  float rescale[R];
  AttentionRow* ptrs[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    rescale[r] = softmax(rows[r]);
    ptrs[r] = rows + r;
  }
  int64_t done = 0;
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    if (rows[r].n_keys <= done) continue;
    accumulate_rows(tile, ptrs + r, R - r, done == 0 ? rescale + r : nullptr, done, rows[r].n_keys);
    done = rows[r].n_keys;
  }
}

}  // namespace

void attention_block_avx512(const AttentionTile& tile, AttentionRow* rows, int64_t n_rows) {
  int64_t r = 0;
  for (; r + 4 <= n_rows; r += 4) block_rows<4>(tile, rows + r);
  switch (n_rows - r) {
    case 3:
      block_rows<3>(tile, rows + r);
      break;
    case 2:
      block_rows<2>(tile, rows + r);
      break;
    case 1:
      block_rows<1>(tile, rows + r);
      break;
    default:
      break;
  }
}

}  // namespace moe::kernels
