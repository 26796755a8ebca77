// The attention core as GEMMs per block of kAttentionRows queries of one head (attention_core.h).
// Forward, block of queries [i0, i1) of head h, keys [0, i1):
//   S = Q_blk K^T (NT); row i: P = exp(S * c - m) / sum over j <= i (m = the row's max score),
//   0 past i; lse_i = m + log(sum);  ctx_blk = P V (NN)
// Backward, per kv head over its query heads and blocks in order (a task owns its dk, dv):
//   P = exp(S * c - lse) (0 past i);  dP = dctx_blk V^T (NT);  dS = P (dP - dctx_i.ctx_i) c
//   dq_blk += dS K (NN);  dk += dS^T Q_blk (TN);  dv += P^T dctx_blk (TN)
// Each GEMM output element is one fma chain in a fixed order (kernels/gemm/gemm.h), so the bits
// depend neither on the pool nor on which tasks run where.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/exp_rows/exp_rows.h"
#include "kernels/gemm/gemm.h"
#include "train/attention_core.h"
#include "train/parallel_chunks.h"

namespace moe::train {
namespace {

using kernels::GemmArgs;
using kernels::GemmLayout;

// Moe's own GEMM kernels at this process's level on the calling thread (gemm_f32 may pick oneDNN,
// whose bits depend on the shapes around an element).
void gemm(GemmLayout layout, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
          float* c, int64_t ldc, bool accumulate) {
  static const kernels::IsaLevel level = kernels::isa_level();
  kernels::gemm_f32_with_level(level,
                               {.layout = layout,
                                .m = m,
                                .n = n,
                                .k = k,
                                .a = a,
                                .lda = lda,
                                .b = b,
                                .ldb = ldb,
                                .c = c,
                                .ldc = ldc,
                                .accumulate = accumulate},
                               nullptr);
}

// Where head `head` of row t starts in a [T][width] buffer.
struct Rows {
  const AttentionConfig& c;
  int64_t at(int64_t b, int64_t i, int64_t head, int64_t width) const {
    return (b * c.seq + i) * width + head * c.head_dim;
  }
};

}  // namespace

void attention_core_forward(const AttentionConfig& c, const float* q, const float* k, const float* v, float* context,
                            float* lse, ThreadPool* pool) {
  const int64_t d = c.head_dim, Q = c.n_heads * d, K = c.n_kv_heads * d, group = c.n_heads / c.n_kv_heads;
  const Rows rows{c};
  for_chunks(pool, c.batch * c.n_heads, 1, [&](int64_t task, int64_t) {
    const int64_t b = task / c.n_heads, h = task % c.n_heads, kv = h / group;
    std::vector<float> scores(kAttentionRows * c.seq);
    for (int64_t i0 = 0; i0 < c.seq; i0 += kAttentionRows) {
      const int64_t i1 = std::min(c.seq, i0 + kAttentionRows), m = i1 - i0;
      gemm(GemmLayout::kNT, m, i1, d, q + rows.at(b, i0, h, Q), Q, k + rows.at(b, 0, kv, K), K, scores.data(), i1,
           false);
      for (int64_t r = 0; r < m; ++r) {
        float* row = scores.data() + r * i1;
        const int64_t n = i0 + r + 1;  // keys this query sees
        const float max_score = *std::max_element(row, row + n) * c.scale;
        kernels::exp_rows(row, c.scale, max_score, row, n);
        double sum = 0.0;
        for (int64_t j = 0; j < n; ++j) sum += row[j];
        lse[(b * c.n_heads + h) * c.seq + i0 + r] = max_score + static_cast<float>(std::log(sum));
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < n; ++j) row[j] *= inv;
        std::fill(row + n, row + i1, 0.0f);
      }
      gemm(GemmLayout::kNN, m, d, i1, scores.data(), i1, v + rows.at(b, 0, kv, K), K, context + rows.at(b, i0, h, Q), Q,
           false);
    }
  });
}

void attention_core_backward(const AttentionConfig& c, const float* q, const float* k, const float* v,
                             const float* context, const float* lse, const float* d_context, float* dq, float* dk,
                             float* dv, ThreadPool* pool) {
  const int64_t d = c.head_dim, Q = c.n_heads * d, K = c.n_kv_heads * d, group = c.n_heads / c.n_kv_heads;
  const Rows rows{c};
  for_chunks(pool, c.batch * c.n_kv_heads, 1, [&](int64_t task, int64_t) {
    const int64_t b = task / c.n_kv_heads, kv = task % c.n_kv_heads;
    std::vector<float> probs(kAttentionRows * c.seq), d_scores(kAttentionRows * c.seq);
    for (int64_t h = kv * group; h < (kv + 1) * group; ++h)
      for (int64_t i0 = 0; i0 < c.seq; i0 += kAttentionRows) {
        const int64_t i1 = std::min(c.seq, i0 + kAttentionRows), m = i1 - i0;
        const float* q_blk = q + rows.at(b, i0, h, Q);
        const float* dctx_blk = d_context + rows.at(b, i0, h, Q);
        const float* k_all = k + rows.at(b, 0, kv, K);
        const float* v_all = v + rows.at(b, 0, kv, K);
        gemm(GemmLayout::kNT, m, i1, d, q_blk, Q, k_all, K, probs.data(), i1, false);
        gemm(GemmLayout::kNT, m, i1, d, dctx_blk, Q, v_all, K, d_scores.data(), i1, false);
        for (int64_t r = 0; r < m; ++r) {
          float* p = probs.data() + r * i1;
          float* ds = d_scores.data() + r * i1;
          const int64_t n = i0 + r + 1;
          kernels::exp_rows(p, c.scale, lse[(b * c.n_heads + h) * c.seq + i0 + r], p, n);
          const float* dctx = dctx_blk + r * Q;
          const float* ctx = context + rows.at(b, i0 + r, h, Q);
          float dctx_dot_ctx = 0.0f;
          for (int64_t e = 0; e < d; ++e) dctx_dot_ctx += dctx[e] * ctx[e];
          for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - dctx_dot_ctx) * c.scale;
          std::fill(p + n, p + i1, 0.0f);
          std::fill(ds + n, ds + i1, 0.0f);
        }
        gemm(GemmLayout::kNN, m, d, i1, d_scores.data(), i1, k_all, K, dq + rows.at(b, i0, h, Q), Q, true);
        gemm(GemmLayout::kTN, i1, d, m, d_scores.data(), i1, q_blk, Q, dk + rows.at(b, 0, kv, K), K, true);
        gemm(GemmLayout::kTN, i1, d, m, probs.data(), i1, dctx_blk, Q, dv + rows.at(b, 0, kv, K), K, true);
      }
  });
}

}  // namespace moe::train
