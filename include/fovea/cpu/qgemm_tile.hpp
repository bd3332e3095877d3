// The INT8 GEMM microkernels: an MR × NB tile of one conv's output (MR output pixels, NB output
// channels) summed over every tap and input channel in int32, then requantized in registers
// (quant/scheme.hpp's formula) and stored. One per ISA, each exact:
//
// - avx512vnni: vpdpbusd multiplies 4 u8 activations by 4 s8 weights and adds the 4 products to
//   an int32 lane, without saturation. Weights are packed [step][NB][4] s8, so one 64-byte load
//   holds 16 channels × 4 input channels; each row's 4 activations are broadcast.
// - avx2: vpmaddubsw would saturate its 16-bit pair sums (255 · 127 · 2 > 32767), so the AVX2
//   path widens instead: weights are packed [step][NB][2] as s16, each row's 2 activations
//   are zero-extended to s16 and broadcast, and vpmaddwd forms exact int32 pair sums.
// - generic: plain loops over the avx512vnni packing.
//
// Rows are given as pointers, one per tap and row, so the same tile serves 1×1 convs (rows are
// the pixels themselves), strided and dilated convs (each tap's pointer into the input, or into
// a row of zero points where the tap falls in the padding). Window rows (k×k convs on a padded
// copy) give tap 0's pointers and the stride between taps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fovea/cpu/int8_isa.hpp"
#include "fovea/quant/scheme.hpp"

namespace fovea::cpu::int8 {

// What a tile writes and how: the requantization of quant/scheme.hpp, with every per-channel
// value already derived on the host (arrays padded to whole blocks, so vector loads past the
// last channel stay inside them).
struct QGemmOutput {
  const int32_t* bias = nullptr;      // [K] bias_q − zp_x · Σ w
  const float* multiplier = nullptr;  // [K] s_x · s_w[k] / s_y (or / 1 for float output)
  int32_t zero_point = 0;             // the output's
  float t_lo = 0, t_hi = 255;         // clamp bounds minus the zero point
  // The clamp is the whole u8 range and |t| < 2^30 (QConvRequant::clamp_by_saturation), so a
  // kernel may round first and let saturating narrowing do the clamp.
  bool clamp_by_saturation = false;
  uint8_t* out = nullptr;             // u8 output, or
  float* out_float = nullptr;         // float output: float(acc) · multiplier
  int64_t row_stride = 0;             // elements from one output pixel to the next (K)
  const uint8_t* residual = nullptr;  // same rows as the output, or null
  int32_t residual_zero_point = 0;
  float residual_multiplier = 0;  // s_r / s_y
};

struct QTileArgs {
  const uint8_t* const* rows;  // [tap][kMr], or [kMr] for tap 0 when tap_stride is set
  int64_t tap_stride;          // bytes from one tap's row to the next (window rows), or 0
  int64_t taps;
  int64_t steps;        // packed steps per tap (channel groups of 4, or 2 on AVX2)
  const void* weights;  // this block's panel
  int64_t m0, m_count;  // first output row, rows to store (≤ kMr)
  int64_t n0, n_count;  // first output channel, channels to store (≤ the block's)
  const QGemmOutput* out;
};

namespace detail {

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Row m's pointer for tap t: its own pointer, or tap 0's stepped by the tap stride.
inline const uint8_t* tap_row(const QTileArgs& a, int64_t t, int m, int mr) {
  return a.tap_stride != 0 ? a.rows[m] + t * a.tap_stride : a.rows[t * mr + m];
}

// The scalar epilogue of one output (generic tiles, and AVX2's partial vectors).
inline void store_output(const QGemmOutput& o, int64_t row, int64_t n, int32_t acc) {
  const int64_t at = row * o.row_stride + n;
  const int32_t sum = acc + o.bias[n];
  if (o.out_float != nullptr) {
    o.out_float[at] = quant::dequantize_accumulator(sum, o.multiplier[n]);
    return;
  }
  const float addend =
      o.residual != nullptr
          ? quant::residual_addend(o.residual[at], o.residual_zero_point, o.residual_multiplier)
          : 0.0f;
  const quant::ClampBounds bounds{static_cast<int32_t>(o.t_lo) + o.zero_point,
                                  static_cast<int32_t>(o.t_hi) + o.zero_point};
  o.out[at] = quant::requantize(sum, o.multiplier[n], addend, o.zero_point, bounds);
}

}  // namespace detail

// ---- generic: packing [step][NB][4] s8 -------------------------------------------------------

template <int kMr>
void qgemm_tile_generic(const QTileArgs& a, int64_t block_channels) {
  int32_t acc[kMr][64] = {};
  const auto* w = static_cast<const int8_t*>(a.weights);
  for (int64_t t = 0; t < a.taps; ++t) {
    const uint8_t* rows[kMr];
    for (int m = 0; m < kMr; ++m)
      rows[m] = detail::tap_row(a, t, m, kMr);
    for (int64_t s = 0; s < a.steps; ++s) {
      for (int m = 0; m < kMr; ++m) {
        const uint8_t* x = rows[m] + 4 * s;
        for (int64_t n = 0; n < block_channels; ++n) {
          const int8_t* wn = w + 4 * n;
          acc[m][n] += x[0] * wn[0] + x[1] * wn[1] + x[2] * wn[2] + x[3] * wn[3];
        }
      }
      w += 4 * block_channels;
    }
  }
  for (int64_t m = 0; m < a.m_count; ++m)
    for (int64_t n = 0; n < a.n_count; ++n)
      detail::store_output(*a.out, a.m0 + m, a.n0 + n, acc[m][n]);
}

#if FOVEA_INT8_SIMD
FOVEA_SILENCE_MAYBE_UNINITIALIZED_BEGIN

// ---- avx512vnni: packing [step][NB][4] s8, NB = 16 · kNv -------------------------------------

// The requantization of 16 sums, bias included (channels n … n + 15 of output row `row`), as
// int32 levels; the residual is read for the lanes in `mask`.
FOVEA_TARGET_AVX512VNNI __attribute__((always_inline)) inline __m512i requantize_avx512vnni(
    const QGemmOutput& o, __m512i sum, int64_t row, int64_t n, __mmask16 mask) {
  const __m512 f = _mm512_cvtepi32_ps(sum);
  const __m512 mult = _mm512_loadu_ps(o.multiplier + n);
  __m512 t;
  if (o.residual != nullptr) {
    const __m512i r =
        _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, o.residual + row * o.row_stride + n));
    const __m512 rf =
        _mm512_cvtepi32_ps(_mm512_sub_epi32(r, _mm512_set1_epi32(o.residual_zero_point)));
    t = _mm512_fmadd_ps(f, mult, _mm512_mul_ps(rf, _mm512_set1_ps(o.residual_multiplier)));
  } else {
    t = _mm512_mul_ps(f, mult);
  }
  t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(o.t_lo)), _mm512_set1_ps(o.t_hi));
  return _mm512_add_epi32(_mm512_cvtps_epi32(t), _mm512_set1_epi32(o.zero_point));
}

// The same for 16 sums (bias included) stored as they come: the lanes in `mask` as float (the
// logits) or u8.
FOVEA_TARGET_AVX512VNNI __attribute__((always_inline)) inline void store_vector_avx512vnni(
    const QGemmOutput& o, __m512i sum, int64_t row, int64_t n, __mmask16 mask) {
  const int64_t at = row * o.row_stride + n;
  if (o.out_float != nullptr) {
    const __m512 f = _mm512_cvtepi32_ps(sum);
    _mm512_mask_storeu_ps(o.out_float + at, mask,
                          _mm512_mul_ps(f, _mm512_loadu_ps(o.multiplier + n)));
    return;
  }
  _mm512_mask_cvtepi32_storeu_epi8(o.out + at, mask, requantize_avx512vnni(o, sum, row, n, mask));
}

// The 16 bytes of x's 128-bit lane v. Each extract needs its lane as a constant, which the
// switch gives it; in an unrolled loop over v it folds to the one extract (clang, unlike GCC,
// refuses a loop counter there even when the loop is unrolled).
FOVEA_TARGET_AVX512VNNI __attribute__((always_inline)) inline __m128i lane_group_avx512(__m512i x,
                                                                                        int v) {
  switch (v) {
    case 0:
      return _mm512_castsi512_si128(x);
    case 1:
      return _mm512_extracti32x4_epi32(x, 1);
    case 2:
      return _mm512_extracti32x4_epi32(x, 2);
    default:
      return _mm512_extracti32x4_epi32(x, 3);
  }
}

// The u8 epilogue of a tile's rows, up to 64 channels each (n … n + 16 · kNv − 1, `valid` of
// them stored), with the residual and the clamp decided at compile time: tested per vector, they
// cost a 1×1 conv over 64 input channels as much as its clamp, and the constants now load once
// per tile. Packing four vectors of int32 leaves, in 128-bit lane L, dwords of vector 0, 1, 2,
// 3's channels 4L … 4L + 3, and one permutation of dwords puts them in channel order: one store
// a row instead of four narrowing ones. The packs saturate (signed to 16 bits, then unsigned to
// 8), which is the clamp where it is the u8 range (QGemmOutput::clamp_by_saturation).
template <int kMr, int kNv, bool kResidual, bool kClamp>
FOVEA_TARGET_AVX512VNNI __attribute__((always_inline)) inline void store_rows_avx512vnni(
    const QGemmOutput& o, const __m512i (&sum)[kMr][kNv], int64_t m0, int64_t m_count, int64_t n,
    int64_t valid) {
  const __m512 lo = _mm512_set1_ps(o.t_lo), hi = _mm512_set1_ps(o.t_hi);
  const __m512i zp = _mm512_set1_epi32(o.zero_point);
  const __m512i residual_zp = _mm512_set1_epi32(o.residual_zero_point);
  const __m512 residual_multiplier = _mm512_set1_ps(o.residual_multiplier);
  const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
  const __mmask64 bytes = valid >= 64 ? ~__mmask64{0} : (__mmask64{1} << valid) - 1;
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m) {
    if (m >= m_count) break;
    const int64_t at = (m0 + m) * o.row_stride + n;
    __m512i residual;
    if constexpr (kResidual) residual = _mm512_maskz_loadu_epi8(bytes, o.residual + at);
    __m512i q[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      if (v >= kNv) {
        q[v] = _mm512_setzero_si512();
        continue;
      }
      const __m512 f = _mm512_cvtepi32_ps(sum[m][v < kNv ? v : 0]);
      const __m512 mult = _mm512_loadu_ps(o.multiplier + n + 16 * v);
      __m512 t;
      if constexpr (kResidual) {
        const __m512i r = _mm512_cvtepu8_epi32(lane_group_avx512(residual, v));
        const __m512 rf = _mm512_cvtepi32_ps(_mm512_sub_epi32(r, residual_zp));
        t = _mm512_fmadd_ps(f, mult, _mm512_mul_ps(rf, residual_multiplier));
      } else {
        t = _mm512_mul_ps(f, mult);
      }
      if constexpr (kClamp) t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
      q[v] = _mm512_add_epi32(_mm512_cvtps_epi32(t), zp);
    }
    const __m512i packed =
        _mm512_packus_epi16(_mm512_packs_epi32(q[0], q[1]), _mm512_packs_epi32(q[2], q[3]));
    _mm512_mask_storeu_epi8(o.out + at, bytes, _mm512_permutexvar_epi32(order, packed));
  }
}

// The sums start at the bias (padded to whole blocks), so the epilogue adds nothing.
template <int kMr, int kNv>
FOVEA_TARGET_AVX512VNNI void qgemm_tile_avx512vnni(const QTileArgs& a) {
  __m512i acc[kMr][kNv];
#pragma GCC unroll 4
  for (int v = 0; v < kNv; ++v) {
    const __m512i bias = _mm512_loadu_si512(a.out->bias + a.n0 + 16 * v);
#pragma GCC unroll 8
    for (int m = 0; m < kMr; ++m)
      acc[m][v] = bias;
  }
  const auto* w = static_cast<const int8_t*>(a.weights);
  for (int64_t t = 0; t < a.taps; ++t) {
    const uint8_t* rows[kMr];
#pragma GCC unroll 8
    for (int m = 0; m < kMr; ++m)
      rows[m] = detail::tap_row(a, t, m, kMr);
    for (int64_t s = 0; s < a.steps; ++s) {
      __m512i wv[kNv];
#pragma GCC unroll 4
      for (int v = 0; v < kNv; ++v)
        wv[v] = _mm512_loadu_si512(w + 64 * v);
#pragma GCC unroll 8
      for (int m = 0; m < kMr; ++m) {
        const __m512i x = _mm512_set1_epi32(static_cast<int>(detail::load_u32(rows[m] + 4 * s)));
#pragma GCC unroll 4
        for (int v = 0; v < kNv; ++v)
          acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], x, wv[v]);
      }
      w += 64 * kNv;
    }
  }
  const QGemmOutput& o = *a.out;
  // A row of one vector stores it narrowed; packing three zero vectors in would cost more.
  if (kNv > 1 && o.out_float == nullptr) {
    const bool clamp = !o.clamp_by_saturation;
    const int64_t m0 = a.m0, m_count = a.m_count, n = a.n0, valid = a.n_count;
    if (o.residual != nullptr) {
      if (clamp)
        store_rows_avx512vnni<kMr, kNv, true, true>(o, acc, m0, m_count, n, valid);
      else
        store_rows_avx512vnni<kMr, kNv, true, false>(o, acc, m0, m_count, n, valid);
    } else {
      if (clamp)
        store_rows_avx512vnni<kMr, kNv, false, true>(o, acc, m0, m_count, n, valid);
      else
        store_rows_avx512vnni<kMr, kNv, false, false>(o, acc, m0, m_count, n, valid);
    }
    return;
  }
#pragma GCC unroll 4
  for (int v = 0; v < kNv; ++v) {
    const int64_t valid = std::min<int64_t>(16, a.n_count - 16 * v);
    if (valid <= 0) break;
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1u);
#pragma GCC unroll 8
    for (int m = 0; m < kMr; ++m) {
      if (m >= a.m_count) break;
      store_vector_avx512vnni(o, acc[m][v], a.m0 + m, a.n0 + 16 * v, mask);
    }
  }
}

// ---- avx2: packing [step][NB][2] s16, NB = 8 · kNv -------------------------------------------

// The requantization of 8 sums (channels n … n + 7 of output row `row`), the first `valid`
// stored; a part vector takes the scalar epilogue, which is the same formula.
FOVEA_TARGET_AVX2 __attribute__((always_inline)) inline void store_vector_avx2(
    const QGemmOutput& o, __m256i acc, int64_t row, int64_t n, int64_t valid) {
  if (valid < 8) {
    alignas(32) int32_t sums[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums), acc);
    for (int64_t i = 0; i < valid; ++i)
      detail::store_output(o, row, n + i, sums[i]);
    return;
  }
  const int64_t at = row * o.row_stride + n;
  const __m256i bias = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(o.bias + n));
  const __m256 f = _mm256_cvtepi32_ps(_mm256_add_epi32(acc, bias));
  const __m256 mult = _mm256_loadu_ps(o.multiplier + n);
  if (o.out_float != nullptr) {
    _mm256_storeu_ps(o.out_float + at, _mm256_mul_ps(f, mult));
    return;
  }
  __m256 t;
  if (o.residual != nullptr) {
    const __m256i r =
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(o.residual + at)));
    const __m256 rf =
        _mm256_cvtepi32_ps(_mm256_sub_epi32(r, _mm256_set1_epi32(o.residual_zero_point)));
    t = _mm256_fmadd_ps(f, mult, _mm256_mul_ps(rf, _mm256_set1_ps(o.residual_multiplier)));
  } else {
    t = _mm256_mul_ps(f, mult);
  }
  t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(o.t_lo)), _mm256_set1_ps(o.t_hi));
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(t), _mm256_set1_epi32(o.zero_point));
  const __m256i words = _mm256_packus_epi32(q, q);  // [q0..q3 q0..q3 | q4..q7 q4..q7]
  const __m256i bytes = _mm256_packus_epi16(words, words);
  const __m128i eight =
      _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(o.out + at), eight);
}

template <int kMr, int kNv>
FOVEA_TARGET_AVX2 void qgemm_tile_avx2(const QTileArgs& a) {
  __m256i acc[kMr][kNv];
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < kNv; ++v)
      acc[m][v] = _mm256_setzero_si256();
  const auto* w = static_cast<const int16_t*>(a.weights);
  for (int64_t t = 0; t < a.taps; ++t) {
    const uint8_t* rows[kMr];
#pragma GCC unroll 8
    for (int m = 0; m < kMr; ++m)
      rows[m] = detail::tap_row(a, t, m, kMr);
    for (int64_t s = 0; s < a.steps; ++s) {
#pragma GCC unroll 8
      for (int m = 0; m < kMr; ++m) {
        const __m256i x = _mm256_cvtepu8_epi16(
            _mm_set1_epi16(static_cast<int16_t>(detail::load_u16(rows[m] + 2 * s))));
#pragma GCC unroll 4
        for (int v = 0; v < kNv; ++v) {
          const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16 * v));
          acc[m][v] = _mm256_add_epi32(acc[m][v], _mm256_madd_epi16(x, wv));
        }
      }
      w += 16 * kNv;
    }
  }
  const QGemmOutput& o = *a.out;
#pragma GCC unroll 4
  for (int v = 0; v < kNv; ++v) {
    const int64_t valid = std::min<int64_t>(8, a.n_count - 8 * v);
    if (valid <= 0) break;
#pragma GCC unroll 8
    for (int m = 0; m < kMr; ++m) {
      if (m >= a.m_count) break;
      store_vector_avx2(o, acc[m][v], a.m0 + m, a.n0 + 8 * v, valid);
    }
  }
}

FOVEA_SILENCE_MAYBE_UNINITIALIZED_END
#endif  // FOVEA_INT8_SIMD

}  // namespace fovea::cpu::int8
