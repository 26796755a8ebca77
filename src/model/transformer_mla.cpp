// Transformer's multi-head latent attention block (DeepseekV3Attention): q from q_proj or
// q_b(norm(q_a(x))), the latent and the shared RoPE key from kv_a_proj_with_mqa, the latent
// normalised by kv_a_layernorm. Decompressed: kv_b gives each head's k_nope and v, the cache holds
// [k_nope | k_pe] and v per head. Latent: each head's q_nope goes through kv_b's k rows to the latent
// space, the cache holds [latent | k_pe] once per token (read as keys and as values, one kv head),
// and kv_b's v rows map each head's attention output back. Both compute the same sums.
#include <chrono>
#include <cstring>

#include "kernels/attention/attention.h"
#include "kernels/matmul/matmul.h"
#include "kernels/rmsnorm.h"
#include "model/transformer.h"

namespace moe::model {

void Transformer::mla_attention_block(int64_t layer, std::span<const Piece> pieces, int64_t n_tokens) {
  const double comm_before = times_[Phase::kComm];
  const auto start = std::chrono::steady_clock::now();
  const LayerWeights& l = weights_.layers[layer];
  const LayerVectors& vec = vectors_[layer];
  const AttentionSpec& a = config_.layers[layer].attention;
  const int64_t H = config_.hidden_size, n_heads = shard_.heads.size();
  const int64_t hd = a.head_dim, nope = a.nope_dim(), rope = a.rope_dim, r = a.kv_lora_rank, dv = a.head_dim_v;
  const int64_t latent = r + rope, q_dim = n_heads * hd, per_head = nope + dv;
  const float eps = config_.rms_eps;

  kernels::rmsnorm(x_.data(), H, vec.attn_norm.data(), h_.data(), H, n_tokens, H, eps);
  if (a.q_lora_rank > 0) {
    const int64_t qr = a.q_lora_rank;
    kernels::matmul(l.wq_a, {h_.data(), H, q_a_.data(), qr, n_tokens}, &pool_);
    kernels::rmsnorm(q_a_.data(), qr, vec.q_a_norm.data(), q_a_.data(), qr, n_tokens, qr, eps);
    kernels::matmul(l.wq, {q_a_.data(), qr, q_.data(), q_dim, n_tokens}, &pool_);
  } else {
    kernels::matmul(l.wq, {h_.data(), H, q_.data(), q_dim, n_tokens}, &pool_);
  }
  kernels::matmul(l.wkv_a, {h_.data(), H, kv_a_.data(), latent, n_tokens}, &pool_);
  kernels::rmsnorm(kv_a_.data(), latent, vec.kv_a_norm.data(), kv_a_.data(), latent, n_tokens, r, eps);
  const bool latent_mode = latent_cache();
  if (!latent_mode) kernels::matmul(l.wkv_b, {kv_a_.data(), latent, kv_.data(), n_heads * per_head, n_tokens}, &pool_);

  int64_t row = 0;
  attention_calls_.clear();
  for (const Piece& piece : pieces) {
    KvCache& cache = *piece.cache;
    const int64_t first = cache.length(), n = static_cast<int64_t>(piece.tokens.size());
    float* q = q_.data() + row * q_dim;
    float* kv_a = kv_a_.data() + row * latent;
    for (int64_t t = 0; t < n; ++t) {
      mla_rope_apply(mla_rope_, q + t * q_dim, n_heads, hd, nope, first + t);
      mla_rope_apply(mla_rope_, kv_a + t * latent, 1, latent, r, first + t);
    }
    if (latent_mode) {
      // q_latent per head: [q_nope . W_UK (r) | q_pe (rope)].
      float* q_latent = q_latent_.data() + row * n_heads * latent;
      for (int64_t h = 0; h < n_heads; ++h) {
        const Tensor uk = vec.uk_t.slice_rows(h * r, r);
        kernels::matmul(uk, {q + h * hd, q_dim, q_latent + h * latent, n_heads * latent, n}, &pool_);
        for (int64_t t = 0; t < n; ++t)
          std::memcpy(q_latent + t * n_heads * latent + h * latent + r, q + t * q_dim + h * hd + nope,
                      rope * sizeof(float));
      }
      cache.store(layer, first, n, kv_a, kv_a);  // the latent, stored once, read as keys and values
      attention_calls_.push_back(
          attention_call(cache, layer, q_latent, attn_.data() + row * n_heads * latent, n, 1, latent));
    } else {
      // Per head: k = [k_nope | k_pe], v = [v | 0] padded to the k width.
      float* k = k_.data() + row * q_dim;
      float* v = v_.data() + row * q_dim;
      const float* kv = kv_.data() + row * n_heads * per_head;
      for (int64_t t = 0; t < n; ++t)
        for (int64_t h = 0; h < n_heads; ++h) {
          const float* src = kv + (t * n_heads + h) * per_head;
          float* k_head = k + t * q_dim + h * hd;
          float* v_head = v + t * q_dim + h * hd;
          std::memcpy(k_head, src, nope * sizeof(float));
          std::memcpy(k_head + nope, kv_a + t * latent + r, rope * sizeof(float));
          std::memcpy(v_head, src + nope, dv * sizeof(float));
          std::memset(v_head + dv, 0, (hd - dv) * sizeof(float));
        }
      cache.store(layer, first, n, k, v);
      attention_calls_.push_back(attention_call(cache, layer, q, attn_.data() + row * q_dim, n, n_heads, hd));
    }
    row += n;
  }
  kernels::attention(attention_calls_, &pool_);
  // Each head's output [n_tokens, n_heads * v_head_dim] for o_proj.
  if (latent_mode) {
    for (int64_t h = 0; h < n_heads; ++h) {
      const Tensor uv = l.wkv_b.slice_rows(h * per_head + nope, dv);
      kernels::matmul(
          uv, {attn_.data() + h * latent, n_heads * latent, attn_v_.data() + h * dv, n_heads * dv, n_tokens}, &pool_);
    }
  } else {
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t h = 0; h < n_heads; ++h)
        std::memcpy(attn_v_.data() + (t * n_heads + h) * dv, attn_.data() + (t * n_heads + h) * hd, dv * sizeof(float));
  }
  kernels::matmul(l.wo, {attn_v_.data(), n_heads * dv, h_.data(), H, n_tokens}, &pool_);
  all_reduce(groups_.attention, h_.data(), n_tokens * H);
  for (int64_t i = 0; i < n_tokens * H; ++i) x_[i] += h_[i];
  times_[Phase::kAttention] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() -
                               (times_[Phase::kComm] - comm_before);
}

}  // namespace moe::model
