// Reference row codecs for f32, f16, bf16, q8_0, q4_0 and the k-quants (q2_K and q3_K decode only).
#include "core/quantize.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "core/fp8.h"
#include "core/half.h"

namespace moe {
namespace {

// The k-quant encoders mirror ggml's reference quantizers operation for operation (same float
// expressions, same evaluation order, same tie-breaking) so that, built without FMA contraction
// as this file is, they produce the bytes ggml's quantize_row_q4_K_ref / _q5_K_ref / _q6_K_ref
// produce.

// Round to nearest, ties to even, for |v| < 2^22: adding 1.5 * 2^23 leaves the integer in the low
// mantissa bits (ggml's nearest_int).
int nearest_int(float v) {
  const float shifted = v + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x007fffff) - 0x00400000;
}

// std::round (ties away from zero) for |v| < 2^22, without a libm call: the truncation and the
// fraction v - trunc(v) are exact. (q8_0 quantizes every activation row of a q8_0 / q4_0 matmul.)
// NaN and |v| >= 2^31 give what x86's truncating conversion gives (INT_MIN, then the same +-1 with
// wrap-around), defined here, so that the vector quantizers agree with it on any input.
int round_half_away(float v) {
  const int truncated = std::fabs(v) < 2147483648.0f ? static_cast<int>(v) : INT32_MIN;
  const float fraction = v - static_cast<float>(truncated);
  const uint32_t rounded = static_cast<uint32_t>(truncated) + static_cast<uint32_t>(fraction >= 0.5f) -
                           static_cast<uint32_t>(fraction <= -0.5f);
  return static_cast<int>(rounded);
}

// Smallest |x| treated as a non-zero group (ggml's GROUP_MAX_EPS).
constexpr float kGroupMaxEps = 1e-15f;

// Fits x[i] ~ scale * q[i] - the_min with q[i] in 0..nmax, minimising sum weights[i] (x[i] - fit)^2:
// rounding at the range's scale, then nstep + 1 candidate scales (nmax + rmin + rdelta k) / range,
// each followed by the weighted least-squares scale and min for its rounding (min clamped <= 0),
// keeping the best. Returns the scale; q in `q`, the positive offset in `the_min`.
float fit_scale_min(int n, int nmax, const float* x, const float* weights, uint8_t* q, float& the_min, uint8_t* q_try,
                    float rmin, float rdelta, int nstep) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) q[i] = 0;
    the_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    q[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * q[i] + min - x[i];
    best_error += weights[i] * (diff * diff);
  }
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * step + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      q_try[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * q_try[i] + this_min - x[i];
        error += weights[i] * (diff * diff);
      }
      if (error < best_error) {
        std::copy(q_try, q_try + n, q);
        best_error = error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  the_min = -min;
  return scale;
}

// Fits x[i] ~ scale * (q[i] - nmax) with q[i] - nmax in -nmax..nmax-1, the signed extreme mapping
// to -nmax, weighting each error by x[i]^2: the scales (nmax + 0.1 k) / extreme, k = -9..9, each
// followed by its least-squares scale, keeping the best. Returns the scale (0 for an all-zero x).
float fit_scale_symmetric(int n, int nmax, const float* x, int8_t* q) {
  float max = 0;
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) q[i] = 0;
    return 0.0f;
  }
  auto level = [&](float iscale, int i) { return std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1); };
  float iscale = -nmax / max;
  float sum_lx = 0;
  float sum_l2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = level(iscale, i);
    q[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sum_lx += w * x[i] * l;
    sum_l2 += w * l * l;
  }
  float scale = sum_l2 != 0 ? sum_lx / sum_l2 : 0.0f;
  float best = scale * sum_lx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(nmax + 0.1f * step) / max;
    sum_lx = sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale, i);
      const float w = x[i] * x[i];
      sum_lx += w * x[i] * l;
      sum_l2 += w * l * l;
    }
    if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
      for (int i = 0; i < n; ++i) q[i] = static_cast<int8_t>(level(iscale, i) + nmax);
      scale = sum_lx / sum_l2;
      best = scale * sum_lx;
    }
  }
  return scale;
}

// 6-bit scale and min of sub-block j of a q4_K block (layout in dtype.h).
void q4_k_scale_min(const uint8_t* packed, int j, int& scale, int& min) {
  if (j < 4) {
    scale = packed[j] & 63;
    min = packed[j + 4] & 63;
  } else {
    scale = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
    min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}

// q4_K and q5_K: weight l of sub-block j is d scale_j q - dmin min_j, q the 4-bit nibble, plus bit
// j of qh[l] as its fifth bit for q5_K (qh null for q4_K). Both products are exact (d scale_j q:
// 11 + 6 + 5 bits at most; dmin min_j: 11 + 6): one rounding, in the subtraction, which an FMA
// reproduces.
void dequantize_scale_min(uint16_t d16, uint16_t dmin16, const uint8_t* scales, const uint8_t* nibbles,
                          const uint8_t* qh, float* dst) {
  const float d = f16_to_f32(d16);
  const float dmin = f16_to_f32(dmin16);
  for (int j = 0; j < 8; ++j) {
    int scale, min;
    q4_k_scale_min(scales, j, scale, min);
    const float d_j = d * scale;
    const float m_j = dmin * min;
    const uint8_t* qs = nibbles + 32 * (j / 2);
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) {
      const int q = ((qs[l] >> shift) & 0x0f) | (qh != nullptr ? ((qh[l] >> j) & 1) << 4 : 0);
      dst[32 * j + l] = d_j * q - m_j;
    }
  }
}

void dequantize_q4_k(const BlockQ4_K& block, float* dst) {
  dequantize_scale_min(block.d, block.dmin, block.scales, block.qs, nullptr, dst);
}

void dequantize_q6_k(const BlockQ6_K& block, float* dst) {
  const float d = f16_to_f32(block.d);
  for (int e = 0; e < kQKBlock; ++e) {
    const int half = e / 128, quarter = (e % 128) / 32, l = e % 32;
    const int low = (block.ql[64 * half + 32 * (quarter % 2) + l] >> (4 * (quarter / 2))) & 0x0f;
    const int high = (block.qh[32 * half + l] >> (2 * quarter)) & 3;
    // d scale q is exact: 11 + 8 + 6 significant bits fit in 24.
    dst[e] = d * block.scales[e / 16] * ((low | (high << 4)) - 32);
  }
}

void dequantize_q5_k(const BlockQ5_K& block, float* dst) {
  dequantize_scale_min(block.d, block.dmin, block.scales, block.qs, block.qh, dst);
}

// 6-bit scale s_i of sub-block i of a q3_K block (layout in dtype.h), minus 32.
int q3_k_scale(const uint8_t* packed, int i) {
  const int low = (packed[i % 8] >> (4 * (i / 8))) & 0x0f;
  const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
  return (low | (high << 4)) - 32;
}

void dequantize_q3_k(const BlockQ3_K& block, float* dst) {
  const float d = f16_to_f32(block.d);
  for (int e = 0; e < kQKBlock; ++e) {
    const int half = e / 128, pair = (e % 128) / 32, l = e % 32;
    const int low = (block.qs[32 * half + l] >> (2 * pair)) & 3;
    const int q = low - (((block.hmask[l] >> (e / 32)) & 1) != 0 ? 0 : 4);
    // d s q is exact: 11 + 6 + 3 significant bits.
    dst[e] = d * q3_k_scale(block.scales, e / 16) * q;
  }
}

void dequantize_q2_k(const BlockQ2_K& block, float* dst) {
  const float d = f16_to_f32(block.d);
  const float dmin = f16_to_f32(block.dmin);
  for (int e = 0; e < kQKBlock; ++e) {
    const int half = e / 128, pair = (e % 128) / 32, l = e % 32;
    const int q = (block.qs[32 * half + l] >> (2 * pair)) & 3;
    const int i = e / 16;
    // d sc q and dmin m are exact (11 + 4 + 2 and 11 + 4 bits): one rounding, in the subtraction.
    dst[e] = d * (block.scales[i] & 0x0f) * q - dmin * (block.scales[i] >> 4);
  }
}

// The sub-block fits of q4_K and q5_K (q in 0..nmax, ggml's rmin and step count per format):
// writes the packed 6-bit scales and mins, d, dmin, and each weight's q in q[256].
void quantize_scale_min_block(const float* x, int nmax, float rmin, int nstep, uint8_t* packed, uint16_t& d_out,
                              uint16_t& dmin_out, uint8_t* q) {
  uint8_t q_try[32];
  float weights[32];
  float scales[8];
  float mins[8];
  float max_scale = 0;  // the sub-block fits subtract the min, so their scales are >= 0
  float max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xj[l] * xj[l];
    const float rms = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = rms + std::fabs(xj[l]);
    scales[j] = fit_scale_min(32, nmax, xj, weights, q + 32 * j, mins[j], q_try, rmin, 0.1f, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  std::memset(packed, 0, 12);
  for (int j = 0; j < 8; ++j) {
    const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls & 0x0f) | ((lm & 0x0f) << 4));
      packed[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  d_out = f32_to_f16(max_scale / 63.0f);
  dmin_out = f32_to_f16(max_min / 63.0f);
  // Requantize against the scales as stored; a sub-block whose scale rounded to 0 keeps its fit.
  for (int j = 0; j < 8; ++j) {
    int scale, min;
    q4_k_scale_min(packed, j, scale, min);
    const float d = f16_to_f32(d_out) * scale;
    if (d == 0) continue;
    const float dm = f16_to_f32(dmin_out) * min;
    for (int l = 0; l < 32; ++l)
      q[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / d), 0, nmax));
  }
}

void quantize_q4_k(const float* x, BlockQ4_K& block) {
  uint8_t q[kQKBlock];
  quantize_scale_min_block(x, 15, -1.0f, 20, block.scales, block.d, block.dmin, q);
  for (int k = 0; k < 4; ++k)
    for (int l = 0; l < 32; ++l) block.qs[32 * k + l] = static_cast<uint8_t>(q[64 * k + l] | (q[64 * k + 32 + l] << 4));
}

// ggml's quantize_row_q5_K_ref: q4_K's fits with 31 levels, rmin -0.5 and 15 steps.
void quantize_q5_k(const float* x, BlockQ5_K& block) {
  uint8_t q[kQKBlock];
  quantize_scale_min_block(x, 31, -0.5f, 15, block.scales, block.d, block.dmin, q);
  std::memset(block.qh, 0, sizeof block.qh);
  for (int k = 0; k < 4; ++k)
    for (int l = 0; l < 32; ++l) {
      const int lo = q[64 * k + l], hi = q[64 * k + 32 + l];
      block.qs[32 * k + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      block.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * k)) | ((hi >> 4) << (2 * k + 1)));
    }
}

void quantize_q6_k(const float* x, BlockQ6_K& block) {
  int8_t q[kQKBlock];  // q + 32, in 0..63
  float scales[16];
  float max_scale = 0;  // the signed scale of largest magnitude
  float max_abs_scale = 0;
  for (int s = 0; s < 16; ++s) {
    scales[s] = fit_scale_symmetric(16, 32, x + 16 * s, q + 16 * s);
    if (std::fabs(scales[s]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[s]);
      max_scale = scales[s];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(&block, 0, sizeof block);
    return;
  }
  const float iscale = -128.0f / max_scale;
  block.d = f32_to_f16(1 / iscale);
  for (int s = 0; s < 16; ++s) block.scales[s] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[s])));
  for (int s = 0; s < 16; ++s) {
    const float d = f16_to_f32(block.d) * block.scales[s];
    if (d == 0) continue;
    for (int i = 0; i < 16; ++i)
      q[16 * s + i] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * s + i] / d), -32, 31) + 32);
  }
  for (int half = 0; half < 2; ++half) {
    const int8_t* qh_src = q + 128 * half;
    for (int l = 0; l < 32; ++l) {
      const int q0 = qh_src[l], q1 = qh_src[l + 32], q2 = qh_src[l + 64], q3 = qh_src[l + 96];
      block.ql[64 * half + l] = static_cast<uint8_t>((q0 & 0x0f) | ((q2 & 0x0f) << 4));
      block.ql[64 * half + 32 + l] = static_cast<uint8_t>((q1 & 0x0f) | ((q3 & 0x0f) << 4));
      block.qh[32 * half + l] =
          static_cast<uint8_t>((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
    }
  }
}

}  // namespace

void dequantize_row(DType dtype, const std::byte* src, float* dst, int64_t n) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16: {
      const auto* h = reinterpret_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    }
    case DType::kBF16: {
      const auto* h = reinterpret_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    case DType::kQ8_0: {
      const auto* blocks = reinterpret_cast<const BlockQ8_0*>(src);
      for (int64_t b = 0; b < n / kQBlock; ++b) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < kQBlock; ++j) dst[b * kQBlock + j] = d * blocks[b].qs[j];
      }
      return;
    }
    case DType::kQ4_0: {
      const auto* blocks = reinterpret_cast<const BlockQ4_0*>(src);
      for (int64_t b = 0; b < n / kQBlock; ++b) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < kQBlock / 2; ++j) {
          dst[b * kQBlock + j] = d * ((blocks[b].qs[j] & 0x0f) - 8);
          dst[b * kQBlock + j + 16] = d * ((blocks[b].qs[j] >> 4) - 8);
        }
      }
      return;
    }
    case DType::kQ4_K: {
      const auto* blocks = reinterpret_cast<const BlockQ4_K*>(src);
      for (int64_t b = 0; b < n / kQKBlock; ++b) dequantize_q4_k(blocks[b], dst + b * kQKBlock);
      return;
    }
    case DType::kQ6_K: {
      const auto* blocks = reinterpret_cast<const BlockQ6_K*>(src);
      for (int64_t b = 0; b < n / kQKBlock; ++b) dequantize_q6_k(blocks[b], dst + b * kQKBlock);
      return;
    }
    case DType::kQ5_K: {
      const auto* blocks = reinterpret_cast<const BlockQ5_K*>(src);
      for (int64_t b = 0; b < n / kQKBlock; ++b) dequantize_q5_k(blocks[b], dst + b * kQKBlock);
      return;
    }
    case DType::kQ3_K: {
      const auto* blocks = reinterpret_cast<const BlockQ3_K*>(src);
      for (int64_t b = 0; b < n / kQKBlock; ++b) dequantize_q3_k(blocks[b], dst + b * kQKBlock);
      return;
    }
    case DType::kQ2_K: {
      const auto* blocks = reinterpret_cast<const BlockQ2_K*>(src);
      for (int64_t b = 0; b < n / kQKBlock; ++b) dequantize_q2_k(blocks[b], dst + b * kQKBlock);
      return;
    }
    case DType::kI8: {  // codes; the tensor's scales multiply them
      const auto* q = reinterpret_cast<const int8_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = q[i];
      return;
    }
    case DType::kF8_E4M3: {
      const auto* q = reinterpret_cast<const uint8_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = e4m3_to_f32(q[i]);
      return;
    }
  }
  MOE_ASSERT(false);
}

void quantize_row(DType dtype, const float* src, std::byte* dst, int64_t n) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16: {
      auto* h = reinterpret_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::kBF16: {
      auto* h = reinterpret_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::kQ8_0: {
      auto* blocks = reinterpret_cast<BlockQ8_0*>(dst);
      for (int64_t b = 0; b < n / kQBlock; ++b) {
        const float* x = src + b * kQBlock;
        float amax = 0.0f;  // NaNs ignored, as std::fmax does
        for (int j = 0; j < kQBlock; ++j) amax = std::fabs(x[j]) > amax ? std::fabs(x[j]) : amax;
        const float d = amax / 127.0f;
        const float inv = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        for (int j = 0; j < kQBlock; ++j) blocks[b].qs[j] = static_cast<int8_t>(round_half_away(x[j] * inv));
      }
      return;
    }
    case DType::kQ4_0: {
      auto* blocks = reinterpret_cast<BlockQ4_0*>(dst);
      for (int64_t b = 0; b < n / kQBlock; ++b) {
        const float* x = src + b * kQBlock;
        float amax = 0.0f, max = 0.0f;  // the signed value of largest magnitude maps to -8
        for (int j = 0; j < kQBlock; ++j)
          if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
          }
        const float d = max / -8.0f;
        const float inv = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        for (int j = 0; j < kQBlock / 2; ++j) {
          const int lo = std::min(15, static_cast<int>(x[j] * inv + 8.5f));
          const int hi = std::min(15, static_cast<int>(x[j + 16] * inv + 8.5f));
          blocks[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
      }
      return;
    }
    case DType::kQ4_K: {
      auto* blocks = reinterpret_cast<BlockQ4_K*>(dst);
      for (int64_t b = 0; b < n / kQKBlock; ++b) quantize_q4_k(src + b * kQKBlock, blocks[b]);
      return;
    }
    case DType::kQ6_K: {
      auto* blocks = reinterpret_cast<BlockQ6_K*>(dst);
      for (int64_t b = 0; b < n / kQKBlock; ++b) quantize_q6_k(src + b * kQKBlock, blocks[b]);
      return;
    }
    case DType::kQ5_K: {
      auto* blocks = reinterpret_cast<BlockQ5_K*>(dst);
      for (int64_t b = 0; b < n / kQKBlock; ++b) quantize_q5_k(src + b * kQKBlock, blocks[b]);
      return;
    }
    case DType::kQ2_K:
    case DType::kQ3_K:
      break;            // read only: no quantizer (MOE_ASSERT below; callers refuse these targets)
    case DType::kI8: {  // codes at scale 1 (quantize_scaled_row picks a scale)
      auto* q = reinterpret_cast<int8_t*>(dst);
      for (int64_t i = 0; i < n; ++i) q[i] = f32_to_int8(src[i], 1.0f);
      return;
    }
    case DType::kF8_E4M3: {
      auto* q = reinterpret_cast<uint8_t*>(dst);
      for (int64_t i = 0; i < n; ++i) q[i] = f32_to_e4m3(src[i]);
      return;
    }
  }
  MOE_ASSERT(false);
}

void quantize_scaled_row(DType dtype, const float* src, float scale, std::byte* dst, int64_t n) {
  MOE_ASSERT(is_scaled_8bit(dtype));
  if (dtype == DType::kI8) {
    auto* q = reinterpret_cast<int8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) q[i] = f32_to_int8(src[i], scale);
    return;
  }
  auto* q = reinterpret_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) q[i] = scale == 0.0f ? 0 : f32_to_e4m3(src[i] / scale);
}

float absmax_scale(DType dtype, float amax) {
  MOE_ASSERT(is_scaled_8bit(dtype));
  return amax / (dtype == DType::kI8 ? 127.0f : kE4m3Max);
}

}  // namespace moe
