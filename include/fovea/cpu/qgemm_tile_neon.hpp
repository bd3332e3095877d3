// The INT8 GEMM microkernels of AArch64 (qgemm_tile.hpp has x86's and the contract): a 4 × 16
// tile (4 output pixels, up to 4 vectors of 4 output channels), weights packed as for VNNI,
// [step][NB][4] s8, so each 16-byte vector holds 4 channels × 4 input channels.
//
// NEON has no u8 × s8 dot product before ARMv8.6 (usdot), so both paths read each activation as
// the s8 value x − 128 (x ^ 0x80) and the packing adds 128 · Σ w to the bias
// (add_flip_correction, qconv_gemm_nhwc.hpp), which puts the sum back: Σ (x − 128) · w + 128 · Σ w
// = Σ x · w, exact in int32 (|x − 128| ≤ 128, |w| ≤ 127).
//
// - neon_dotprod: sdot adds 4 s8 products to each int32 lane. A row's next 16 bytes (4 steps)
//   sit in one register and the by-element form picks each step's 4 bytes, so per 4 steps a tile
//   loads 4 activation vectors and 16 weight vectors for 64 sdots (16 accumulators, 24 of the
//   32 registers).
// - neon: smull widens 8 s8 products to s16 (exact: |product| ≤ 2^14) and sadalp adds their
//   pairs into int32 lanes, so each channel's sum lies in two lanes, paired up at the end. Two
//   accumulators per 4 channels: the tile runs as two halves of 8 channels, 16 accumulators each.
#pragma once

#include <cstdint>
#include <cstring>

#include "fovea/cpu/int8_isa.hpp"
#include "fovea/cpu/qgemm_tile.hpp"

#if FOVEA_INT8_NEON

namespace fovea::cpu::int8 {

// The byte that turns a u8 activation into its s8 value minus 128.
inline constexpr uint32_t kFlipBytes = 0x80808080u;

// The requantization of 4 sums (channels n … n + 3 of output row `row`, bias not yet added), the
// first `valid` stored; a part vector takes the scalar epilogue, which is the same formula
// (quant::requantize: one fused multiply-add, the clamp, rounding to nearest even).
inline void store_vector_neon(const QGemmOutput& o, int32x4_t acc, int64_t row, int64_t n,
                              int64_t valid) {
  if (valid < 4) {
    int32_t sums[4];
    vst1q_s32(sums, acc);
    for (int64_t i = 0; i < valid; ++i)
      detail::store_output(o, row, n + i, sums[i]);
    return;
  }
  const int64_t at = row * o.row_stride + n;
  const float32x4_t f = vcvtq_f32_s32(vaddq_s32(acc, vld1q_s32(o.bias + n)));
  const float32x4_t mult = vld1q_f32(o.multiplier + n);
  if (o.out_float != nullptr) {
    vst1q_f32(o.out_float + at, vmulq_f32(f, mult));
    return;
  }
  float32x4_t t;
  if (o.residual != nullptr) {
    const uint8x8_t r8 = vcreate_u8(detail::load_u32(o.residual + at));
    const int32x4_t r = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(r8))));
    const float32x4_t rf = vcvtq_f32_s32(vsubq_s32(r, vdupq_n_s32(o.residual_zero_point)));
    t = vfmaq_f32(vmulq_f32(rf, vdupq_n_f32(o.residual_multiplier)), f, mult);
  } else {
    t = vmulq_f32(f, mult);
  }
  t = vminq_f32(vmaxq_f32(t, vdupq_n_f32(o.t_lo)), vdupq_n_f32(o.t_hi));
  const int32x4_t q = vaddq_s32(vcvtnq_s32_f32(t), vdupq_n_s32(o.zero_point));
  const uint16x4_t words = vqmovun_s32(q);
  const uint8x8_t bytes = vqmovn_u16(vcombine_u16(words, words));
  const uint32_t four = vget_lane_u32(vreinterpret_u32_u8(bytes), 0);
  std::memcpy(o.out + at, &four, 4);
}

// The tile's sums, kNv vectors of 4 channels per row, through the vector epilogue.
template <int kMr, int kNv>
inline void store_tile_neon(const QTileArgs& a, const int32x4_t (&acc)[kMr][kNv], int v0) {
  for (int v = 0; v < kNv; ++v) {
    const int64_t first = 4 * (v0 + v);
    const int64_t valid = std::min<int64_t>(4, a.n_count - first);
    if (valid <= 0) break;
    for (int m = 0; m < kMr; ++m) {
      if (m >= a.m_count) break;
      store_vector_neon(*a.out, acc[m][v], a.m0 + m, a.n0 + first, valid);
    }
  }
}

// ---- neon_dotprod ----------------------------------------------------------------------------

// acc[m][v] += the 4 bytes in lane kLane of x[m] · each of weight vector v's 4 channels.
template <int kLane, int kMr, int kNv>
FOVEA_TARGET_DOTPROD __attribute__((always_inline)) inline void sdot_step(
    int32x4_t (&acc)[kMr][kNv], const int8x16_t (&x)[kMr], const int8_t* w) {
  int8x16_t wv[kNv];
#pragma GCC unroll 4
  for (int v = 0; v < kNv; ++v)
    wv[v] = vld1q_s8(w + 16 * v);
#pragma GCC unroll 4
  for (int m = 0; m < kMr; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < kNv; ++v)
      acc[m][v] = vdotq_laneq_s32(acc[m][v], wv[v], x[m], kLane);
}

template <int kMr, int kNv>
FOVEA_TARGET_DOTPROD void qgemm_tile_neon_dotprod(const QTileArgs& a) {
  int32x4_t acc[kMr][kNv];
#pragma GCC unroll 4
  for (int m = 0; m < kMr; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < kNv; ++v)
      acc[m][v] = vdupq_n_s32(0);
  const uint8x16_t flip = vdupq_n_u8(0x80);
  const auto* w = static_cast<const int8_t*>(a.weights);
  for (int64_t t = 0; t < a.taps; ++t) {
    const uint8_t* rows[kMr];
#pragma GCC unroll 4
    for (int m = 0; m < kMr; ++m)
      rows[m] = detail::tap_row(a, t, m, kMr);
    int64_t s = 0;
    for (; s + 4 <= a.steps; s += 4) {  // 16 bytes of each row: 4 steps
      int8x16_t x[kMr];
#pragma GCC unroll 4
      for (int m = 0; m < kMr; ++m)
        x[m] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(rows[m] + 4 * s), flip));
      sdot_step<0>(acc, x, w);
      sdot_step<1>(acc, x, w + 16 * kNv);
      sdot_step<2>(acc, x, w + 32 * kNv);
      sdot_step<3>(acc, x, w + 48 * kNv);
      w += 64 * kNv;
    }
    for (; s < a.steps; ++s) {  // the last 1 to 3 steps: a row's 4 bytes in every lane
      int8x16_t x[kMr];
#pragma GCC unroll 4
      for (int m = 0; m < kMr; ++m)
        x[m] = vreinterpretq_s8_u32(vdupq_n_u32(detail::load_u32(rows[m] + 4 * s) ^ kFlipBytes));
      sdot_step<0>(acc, x, w);
      w += 16 * kNv;
    }
  }
  store_tile_neon<kMr, kNv>(a, acc, 0);
}

// ---- neon (no dot product) -------------------------------------------------------------------

// Vectors v0 … v0 + kNv − 1 of the tile (kNv ≤ 2), over the whole reduction.
template <int kMr, int kNv>
inline void qgemm_half_tile_neon(const QTileArgs& a, int vectors, int v0) {
  int32x4_t pairs[kMr][2 * kNv];  // [m][2v]: channels 0, 1 of vector v; [m][2v + 1]: 2, 3
#pragma GCC unroll 4
  for (int m = 0; m < kMr; ++m)
#pragma GCC unroll 4
    for (int i = 0; i < 2 * kNv; ++i)
      pairs[m][i] = vdupq_n_s32(0);
  const int64_t step_bytes = 16 * vectors;
  const auto* w = static_cast<const int8_t*>(a.weights) + 16 * v0;
  for (int64_t t = 0; t < a.taps; ++t) {
    const uint8_t* rows[kMr];
#pragma GCC unroll 4
    for (int m = 0; m < kMr; ++m)
      rows[m] = detail::tap_row(a, t, m, kMr);
    for (int64_t s = 0; s < a.steps; ++s, w += step_bytes) {
      int8x16_t wv[kNv];
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v)
        wv[v] = vld1q_s8(w + 16 * v);
#pragma GCC unroll 4
      for (int m = 0; m < kMr; ++m) {
        const int8x16_t x =
            vreinterpretq_s8_u32(vdupq_n_u32(detail::load_u32(rows[m] + 4 * s) ^ kFlipBytes));
#pragma GCC unroll 2
        for (int v = 0; v < kNv; ++v) {
          pairs[m][2 * v] =
              vpadalq_s16(pairs[m][2 * v], vmull_s8(vget_low_s8(x), vget_low_s8(wv[v])));
          pairs[m][2 * v + 1] = vpadalq_s16(pairs[m][2 * v + 1], vmull_high_s8(x, wv[v]));
        }
      }
    }
  }
  int32x4_t acc[kMr][kNv];
#pragma GCC unroll 4
  for (int m = 0; m < kMr; ++m)
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v)
      acc[m][v] = vpaddq_s32(pairs[m][2 * v], pairs[m][2 * v + 1]);
  store_tile_neon<kMr, kNv>(a, acc, v0);
}

template <int kMr, int kNv>
void qgemm_tile_neon(const QTileArgs& a) {
  if constexpr (kNv <= 2) {
    qgemm_half_tile_neon<kMr, kNv>(a, kNv, 0);
  } else {
    qgemm_half_tile_neon<kMr, 2>(a, kNv, 0);
    qgemm_half_tile_neon<kMr, kNv - 2>(a, kNv, 2);
  }
}

}  // namespace fovea::cpu::int8

#endif  // FOVEA_INT8_NEON
