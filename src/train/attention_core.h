// The causal softmax core of the training attention, between the projections (after RoPE) and
// the output projection: per sequence b, query head h (kv head h / group), query i, key j <= i:
//   P_ij = exp(q_i.k_j * c - lse_i), c = the scale;  ctx_i = sum_j P_ij v_j
// and its backward (attention.cpp's header comment gives the formulas).
// The fast path runs each block of kAttentionRows queries of one head as GEMMs (kernels::gemm at
// this process's level: the bits depend neither on the threads nor on the other heads) with a
// vectorised exp (kernels/exp_rows); the reference is the plain loop with libm's exp (tests).
// Shapes as AttentionConfig: q [T][Q], k, v [T][K], context [T][Q], lse [B][n_heads][S].
#pragma once

#include "core/thread_pool.h"
#include "train/attention.h"

namespace moe::train {

// Queries per block: a block's scores are [kAttentionRows][keys up to its last query].
constexpr int64_t kAttentionRows = 64;

// context and lse are overwritten.
void attention_core_forward(const AttentionConfig& c, const float* q, const float* k, const float* v, float* context,
                            float* lse, ThreadPool* pool);
// dq, dk, dv are accumulated (+=) from d_context.
void attention_core_backward(const AttentionConfig& c, const float* q, const float* k, const float* v,
                             const float* context, const float* lse, const float* d_context, float* dq, float* dk,
                             float* dv, ThreadPool* pool);

// The reference loops (same contract).
void attention_core_forward_ref(const AttentionConfig& c, const float* q, const float* k, const float* v,
                                float* context, float* lse, ThreadPool* pool);
void attention_core_backward_ref(const AttentionConfig& c, const float* q, const float* k, const float* v,
                                 const float* context, const float* lse, const float* d_context, float* dq, float* dk,
                                 float* dv, ThreadPool* pool);

}  // namespace moe::train
