// INT8 depthwise convolution (groups = C = K) on NHWC activations: each output pixel's
// channels in vectors, Σ over the taps of x · w widened to int32 (the products of 9 or 25 taps
// would overflow 16 bits), then the GEMM tiles' requantization (store_vector_*). Taps in the
// padding read a row of zero points. Threads take stretches of output rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fovea/cpu/int8_isa.hpp"
#include "fovea/cpu/qconv_gemm_nhwc.hpp"
#include "fovea/cpu/qgemm_tile.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/params.hpp"
#include "fovea/quant/qconv_layer.hpp"

namespace fovea::cpu::int8 {

// Weights widened to int32, [tap][k_padded] with k_padded a multiple of 16, and the layer's
// requantization values.
struct QDepthwisePacked {
  Int8Isa isa = Int8Isa::generic;
  int64_t k = 0, k_padded = 0, taps = 0;
  std::vector<int32_t> weights;
  quant::QConvRequant requant;
  // avx512vnni and neon_dotprod: the taps in quads (vpdpbusd and sdot sum 4 taps of a channel).
  // avx512vnni: for blocks of 64 channels in the order the byte shuffles leave them
  // (quad_channel), with the per-channel requantization values in the same order.
  int64_t quads = 0;
  std::vector<int8_t> quad_weights;  // [block][quad][j][64]
  std::vector<int32_t> quad_bias;    // [block][j][16]
  std::vector<float> quad_multiplier;
  // AArch64, s8: neon [tap][k_padded]; neon_dotprod [block of 16 channels][quad][16][4 taps].
  std::vector<int8_t> neon_weights;
};

// The channel of a 64-channel block that lane slot (128-bit lane L, dword i) of the j-th
// accumulator holds after unpacking 4 taps' bytes (qdepthwise_pixel_quads): 16L + 4j + i.
inline int64_t quad_channel(int64_t j, int64_t lane_slot) {
  return 16 * (lane_slot / 4) + 4 * j + lane_slot % 4;
}

inline std::shared_ptr<QDepthwisePacked> pack_qdepthwise(const quant::QConvLayer& layer,
                                                         Int8Isa isa) {
  const Tensor<int8_t>& w = layer.weights.weight;  // [K, 1, R, S]
  auto p = std::make_shared<QDepthwisePacked>();
  p->isa = isa;
  p->k = w.dim(0);
  p->k_padded = round_up(p->k, 16);
  p->taps = w.dim(2) * w.dim(3);
  p->weights.assign(static_cast<size_t>(p->taps * p->k_padded), 0);
  for (int64_t k = 0; k < p->k; ++k)
    for (int64_t t = 0; t < p->taps; ++t)
      p->weights[static_cast<size_t>(t * p->k_padded + k)] = w.data()[k * p->taps + t];
  p->requant = quant::derive_requant(layer);
  if (isa == Int8Isa::avx512vnni) {
    p->quads = (p->taps + 3) / 4;
    const int64_t blocks = (p->k + 63) / 64;
    p->quad_weights.assign(static_cast<size_t>(blocks * p->quads * 4 * 64), 0);
    p->quad_bias.assign(static_cast<size_t>(blocks * 4 * 16), 0);
    p->quad_multiplier.assign(static_cast<size_t>(blocks * 4 * 16), 0.0f);
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t slot = 0; slot < 16; ++slot) {
          const int64_t k = b * 64 + quad_channel(j, slot);
          if (k >= p->k) continue;
          const size_t at = static_cast<size_t>((b * 4 + j) * 16 + slot);
          p->quad_bias[at] = p->requant.bias[static_cast<size_t>(k)];
          p->quad_multiplier[at] = p->requant.multiplier[static_cast<size_t>(k)];
          for (int64_t q = 0; q < p->quads; ++q)
            for (int64_t t = 4 * q; t < std::min(4 * q + 4, p->taps); ++t)
              p->quad_weights[static_cast<size_t>(((b * p->quads + q) * 4 + j) * 64 + slot * 4 +
                                                  t % 4)] = w.data()[k * p->taps + t];
        }
  }
  if (isa == Int8Isa::neon) {
    p->neon_weights.assign(static_cast<size_t>(p->taps * p->k_padded), 0);
    for (int64_t k = 0; k < p->k; ++k)
      for (int64_t t = 0; t < p->taps; ++t)
        p->neon_weights[static_cast<size_t>(t * p->k_padded + k)] = w.data()[k * p->taps + t];
  } else if (isa == Int8Isa::neon_dotprod) {
    p->quads = (p->taps + 3) / 4;
    p->neon_weights.assign(static_cast<size_t>(p->k_padded / 16 * p->quads * 64), 0);
    for (int64_t k = 0; k < p->k; ++k)
      for (int64_t t = 0; t < p->taps; ++t)
        p->neon_weights[static_cast<size_t>(((k / 16 * p->quads + t / 4) * 16 + k % 16) * 4 +
                                            t % 4)] = w.data()[k * p->taps + t];
  }
  if (reads_flipped_activations(isa)) add_flip_correction(p->requant, w);
  return p;
}

namespace detail {

// One output pixel: taps[t] points at the pixel's input for tap t (or a zero-point row).
inline void qdepthwise_pixel_generic(const uint8_t* const* taps, const QDepthwisePacked& p,
                                     const QGemmOutput& o, int64_t row) {
  for (int64_t k = 0; k < p.k; ++k) {
    int32_t acc = 0;
    for (int64_t t = 0; t < p.taps; ++t)
      acc += taps[t][k] * p.weights[static_cast<size_t>(t * p.k_padded + k)];
    store_output(o, row, k, acc);
  }
}

#if FOVEA_INT8_SIMD
FOVEA_SILENCE_MAYBE_UNINITIALIZED_BEGIN

FOVEA_TARGET_AVX512VNNI inline void qdepthwise_pixel_avx512vnni(const uint8_t* const* taps,
                                                                const QDepthwisePacked& p,
                                                                const QGemmOutput& o, int64_t row) {
  for (int64_t k = 0; k < p.k; k += 16) {
    const int64_t valid = std::min<int64_t>(16, p.k - k);
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1u);
    __m512i acc = _mm512_loadu_si512(o.bias + k);  // padded to whole blocks
    const int32_t* w = p.weights.data() + k;
    for (int64_t t = 0; t < p.taps; ++t) {
      const __m512i x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, taps[t] + k));
      acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, _mm512_loadu_si512(w + t * p.k_padded)));
    }
    store_vector_avx512vnni(o, acc, row, k, mask);
  }
}

// `count` output pixels of one row, 64 channels at a time: each quad of taps' 64 bytes unpacked
// into four vectors of (tap 0, 1, 2, 3) byte quads, one vpdpbusd each. Within every 128-bit
// lane the unpacking leaves channel 16L + 4j + i in accumulator j's dword 4L + i
// (quad_channel), so the weights and requantization values are stored in that order, and packing
// the four accumulators' bytes in order puts them back in channel order.
// taps[] holds quads · 4 pointers for the first pixel (those past the layer's taps meet zero
// weights); pixel i reads them plus i · step. u8 output, no residual. The sums start at the
// bias; without kClamp the packs' saturation is the clamp (QGemmOutput::clamp_by_saturation).
template <bool kClamp>
FOVEA_TARGET_AVX512VNNI inline void qdepthwise_pixels_quads(const uint8_t* const* taps,
                                                            int64_t step, int64_t count,
                                                            const QDepthwisePacked& p,
                                                            const QGemmOutput& o, int64_t row) {
  const __m512 lo = _mm512_set1_ps(o.t_lo), hi = _mm512_set1_ps(o.t_hi);
  const __m512i zp = _mm512_set1_epi32(o.zero_point);
  for (int64_t c0 = 0, block = 0; c0 < p.k; c0 += 64, ++block) {
    const int64_t valid = std::min<int64_t>(64, p.k - c0);
    const __mmask64 mask = valid == 64 ? ~__mmask64{0} : (__mmask64{1} << valid) - 1;
    const int8_t* weights = p.quad_weights.data() + block * p.quads * 4 * 64;
    const int32_t* bias = p.quad_bias.data() + block * 64;
    const float* multiplier = p.quad_multiplier.data() + block * 64;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t offset = i * step + c0;
      __m512i acc[4] = {_mm512_loadu_si512(bias), _mm512_loadu_si512(bias + 16),
                        _mm512_loadu_si512(bias + 32), _mm512_loadu_si512(bias + 48)};
      const int8_t* w = weights;
      for (int64_t q = 0; q < p.quads; ++q, w += 4 * 64) {
        const uint8_t* const* t = taps + 4 * q;
        __m512i x[4];
        if (valid == 64) {
          for (int k = 0; k < 4; ++k)
            x[k] = _mm512_loadu_si512(t[k] + offset);
        } else {
          for (int k = 0; k < 4; ++k)
            x[k] = _mm512_maskz_loadu_epi8(mask, t[k] + offset);
        }
        const __m512i u01l = _mm512_unpacklo_epi8(x[0], x[1]);
        const __m512i u01h = _mm512_unpackhi_epi8(x[0], x[1]);
        const __m512i u23l = _mm512_unpacklo_epi8(x[2], x[3]);
        const __m512i u23h = _mm512_unpackhi_epi8(x[2], x[3]);
        acc[0] =
            _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(u01l, u23l), _mm512_loadu_si512(w));
        acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(u01l, u23l),
                                     _mm512_loadu_si512(w + 64));
        acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(u01h, u23h),
                                     _mm512_loadu_si512(w + 128));
        acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(u01h, u23h),
                                     _mm512_loadu_si512(w + 192));
      }
      __m512i q[4];
      for (int j = 0; j < 4; ++j) {
        __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[j]), _mm512_loadu_ps(multiplier + 16 * j));
        if constexpr (kClamp) t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
        q[j] = _mm512_add_epi32(_mm512_cvtps_epi32(t), zp);
      }
      // In lane L, q[j] holds channels 16L + 4j .. 16L + 4j + 3; packing the four in order
      // leaves lane L holding 16L .. 16L + 15.
      const __m512i channels =
          _mm512_packus_epi16(_mm512_packs_epi32(q[0], q[1]), _mm512_packs_epi32(q[2], q[3]));
      uint8_t* out = o.out + (row + i) * o.row_stride + c0;
      if (valid == 64)
        _mm512_storeu_si512(out, channels);
      else
        _mm512_mask_storeu_epi8(out, mask, channels);
    }
  }
}

FOVEA_TARGET_AVX2 inline void qdepthwise_pixel_avx2(const uint8_t* const* taps,
                                                    const QDepthwisePacked& p, const QGemmOutput& o,
                                                    int64_t row) {
  int64_t k = 0;
  for (; k + 8 <= p.k; k += 8) {
    __m256i acc = _mm256_setzero_si256();
    const int32_t* w = p.weights.data() + k;
    for (int64_t t = 0; t < p.taps; ++t) {
      const __m256i x =
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(taps[t] + k)));
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + t * p.k_padded));
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(x, wv));
    }
    store_vector_avx2(o, acc, row, k, 8);
  }
  for (; k < p.k; ++k) {
    int32_t acc = 0;
    for (int64_t t = 0; t < p.taps; ++t)
      acc += taps[t][k] * p.weights[static_cast<size_t>(t * p.k_padded + k)];
    store_output(o, row, k, acc);
  }
}

FOVEA_SILENCE_MAYBE_UNINITIALIZED_END
#endif  // FOVEA_INT8_SIMD

#if FOVEA_INT8_NEON

// The bytes of 16 channels from x, the first `valid` of them (the rest read as 0 and meet zero
// weights), as s8 values x − 128: the packing's bias holds the correction
// (add_flip_correction), as in the GEMM tiles (qgemm_tile_neon.hpp).
inline int8x16_t load_flipped_channels(const uint8_t* x, int64_t valid) {
  uint8x16_t v;
  if (valid >= 16) {
    v = vld1q_u8(x);
  } else {
    uint8_t lanes[16] = {};
    std::memcpy(lanes, x, static_cast<size_t>(valid));
    v = vld1q_u8(lanes);
  }
  return vreinterpretq_s8_u8(veorq_u8(v, vdupq_n_u8(0x80)));
}

// One output pixel's 16-channel blocks: smull forms 8 exact s16 products, saddw widens them
// into the int32 sums, four vectors of 4 channels in order.
inline void qdepthwise_pixel_neon(const uint8_t* const* taps, const QDepthwisePacked& p,
                                  const QGemmOutput& o, int64_t row) {
  for (int64_t k = 0; k < p.k; k += 16) {
    const int64_t valid = std::min<int64_t>(16, p.k - k);
    int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    const int8_t* w = p.neon_weights.data() + k;
    for (int64_t t = 0; t < p.taps; ++t) {
      const int8x16_t x = load_flipped_channels(taps[t] + k, valid);
      const int8x16_t wv = vld1q_s8(w + t * p.k_padded);
      const int16x8_t lo = vmull_s8(vget_low_s8(x), vget_low_s8(wv));
      const int16x8_t hi = vmull_high_s8(x, wv);
      acc[0] = vaddw_s16(acc[0], vget_low_s16(lo));
      acc[1] = vaddw_high_s16(acc[1], lo);
      acc[2] = vaddw_s16(acc[2], vget_low_s16(hi));
      acc[3] = vaddw_high_s16(acc[3], hi);
    }
    for (int j = 0; j < 4 && 4 * j < valid; ++j)
      store_vector_neon(o, acc[j], row, k + 4 * j, std::min<int64_t>(4, valid - 4 * j));
  }
}

// The same with sdot, 4 taps at a time: zipping the 4 taps' 16 bytes (bytes, then pairs) leaves
// channels 4j … 4j + 3's (tap 0, 1, 2, 3) quads in vector j, in channel order, which is how the
// weights are packed. taps[] holds quads · 4 pointers (those past the layer's taps meet zero
// weights).
FOVEA_TARGET_DOTPROD inline void qdepthwise_pixel_neon_dotprod(const uint8_t* const* taps,
                                                               const QDepthwisePacked& p,
                                                               const QGemmOutput& o, int64_t row) {
  for (int64_t k = 0, block = 0; k < p.k; k += 16, ++block) {
    const int64_t valid = std::min<int64_t>(16, p.k - k);
    int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    const int8_t* w = p.neon_weights.data() + block * p.quads * 64;
    for (int64_t q = 0; q < p.quads; ++q, w += 64) {
      int8x16_t x[4];
      for (int i = 0; i < 4; ++i)
        x[i] = load_flipped_channels(taps[4 * q + i] + k, valid);
      const int16x8_t pair01_lo = vreinterpretq_s16_s8(vzip1q_s8(x[0], x[1]));
      const int16x8_t pair01_hi = vreinterpretq_s16_s8(vzip2q_s8(x[0], x[1]));
      const int16x8_t pair23_lo = vreinterpretq_s16_s8(vzip1q_s8(x[2], x[3]));
      const int16x8_t pair23_hi = vreinterpretq_s16_s8(vzip2q_s8(x[2], x[3]));
      const int8x16_t quad[4] = {vreinterpretq_s8_s16(vzip1q_s16(pair01_lo, pair23_lo)),
                                 vreinterpretq_s8_s16(vzip2q_s16(pair01_lo, pair23_lo)),
                                 vreinterpretq_s8_s16(vzip1q_s16(pair01_hi, pair23_hi)),
                                 vreinterpretq_s8_s16(vzip2q_s16(pair01_hi, pair23_hi))};
      for (int j = 0; j < 4; ++j)
        acc[j] = vdotq_s32(acc[j], quad[j], vld1q_s8(w + 16 * j));
    }
    for (int j = 0; j < 4 && 4 * j < valid; ++j)
      store_vector_neon(o, acc[j], row, k + 4 * j, std::min<int64_t>(4, valid - 4 * j));
  }
}

#endif  // FOVEA_INT8_NEON

}  // namespace detail

// Runs the depthwise conv of `cp` (NHWC u8 input) with packed weights into `out`.
inline void qconv_depthwise_nhwc_run(const uint8_t* x, const Conv2dParams& cp,
                                     const QDepthwisePacked& p, int32_t x_zero_point,
                                     const QGemmOutput& out) {
  const std::vector<uint8_t> zero_row(static_cast<size_t>(p.k_padded),
                                      static_cast<uint8_t>(x_zero_point));
  const Conv2dAttrs& a = cp.attrs;
  // The quad kernel takes u8 outputs without a residual; the rest take the plain form.
  const bool quads = p.isa == Int8Isa::avx512vnni && p.quads > 0 && out.residual == nullptr &&
                     out.out_float == nullptr;
  (void)quads;  // x86 only
  // Output columns whose whole window lies inside the image: [q_first, q_last).
  const int64_t q_first = std::min(cp.q, (a.pad_left + a.stride_w - 1) / a.stride_w);
  const int64_t q_last = std::max(
      q_first,
      std::min(cp.q, (cp.w + a.pad_left - (cp.s - 1) * a.dilation_w - 1) / a.stride_w + 1));
  const int64_t step = a.stride_w * cp.c;  // bytes from one output column's taps to the next
  // About 20 multiply-adds per nanosecond on one core with the quad kernel.
  const double multiply_adds = static_cast<double>(cp.n) * cp.p * cp.q * cp.k * p.taps;
  const bool threaded = worth_threads(multiply_adds / 2e4);
  const auto rows = [&](int64_t begin, int64_t end) {
    std::vector<const uint8_t*> taps(static_cast<size_t>(std::max(p.taps, 4 * p.quads)));
    // Points taps[] at output pixel (image, op, oq)'s window; `count` pixels from there on
    // may step along the row when they are all inside.
    const auto run = [&](int64_t image, int64_t op, int64_t oq, int64_t count) {
      for (int64_t r = 0; r < cp.r; ++r) {
        const int64_t ih = op * a.stride_h - a.pad_top + r * a.dilation_h;
        for (int64_t s = 0; s < cp.s; ++s) {
          const int64_t iw = oq * a.stride_w - a.pad_left + s * a.dilation_w;
          const bool inside = ih >= 0 && ih < cp.h && iw >= 0 && iw < cp.w;
          taps[static_cast<size_t>(r * cp.s + s)] =
              inside ? x + ((image * cp.h + ih) * cp.w + iw) * cp.c : zero_row.data();
        }
      }
      const int64_t row = (image * cp.p + op) * cp.q + oq;
#if FOVEA_INT8_NEON
      if (p.isa == Int8Isa::neon_dotprod)
        for (size_t t = static_cast<size_t>(p.taps); t < taps.size(); ++t)
          taps[t] = taps[0];  // met by zero weights
#endif
#if FOVEA_INT8_SIMD
      if (quads) {
        for (size_t t = static_cast<size_t>(p.taps); t < taps.size(); ++t)
          taps[t] = taps[0];  // met by zero weights
        if (out.clamp_by_saturation)
          detail::qdepthwise_pixels_quads<false>(taps.data(), step, count, p, out, row);
        else
          detail::qdepthwise_pixels_quads<true>(taps.data(), step, count, p, out, row);
        return;
      }
#endif
      for (int64_t i = 0; i < count; ++i) {
        if (i > 0)
          for (const uint8_t*& t : taps)
            t += step;
#if FOVEA_INT8_SIMD
        if (p.isa == Int8Isa::avx512vnni) {
          detail::qdepthwise_pixel_avx512vnni(taps.data(), p, out, row + i);
          continue;
        }
        if (p.isa == Int8Isa::avx2) {
          detail::qdepthwise_pixel_avx2(taps.data(), p, out, row + i);
          continue;
        }
#elif FOVEA_INT8_NEON
        if (p.isa == Int8Isa::neon_dotprod) {
          detail::qdepthwise_pixel_neon_dotprod(taps.data(), p, out, row + i);
          continue;
        }
        if (p.isa == Int8Isa::neon) {
          detail::qdepthwise_pixel_neon(taps.data(), p, out, row + i);
          continue;
        }
#endif
        detail::qdepthwise_pixel_generic(taps.data(), p, out, row + i);
      }
    };
    for (int64_t image_row = begin; image_row < end; ++image_row) {
      const int64_t image = image_row / cp.p, op = image_row % cp.p;
      const int64_t ih0 = op * a.stride_h - a.pad_top;
      const bool rows_inside = ih0 >= 0 && ih0 + (cp.r - 1) * a.dilation_h < cp.h;
      if (!rows_inside) {
        for (int64_t oq = 0; oq < cp.q; ++oq)
          run(image, op, oq, 1);
        continue;
      }
      for (int64_t oq = 0; oq < q_first; ++oq)
        run(image, op, oq, 1);
      if (q_last > q_first) run(image, op, q_first, q_last - q_first);
      for (int64_t oq = q_last; oq < cp.q; ++oq)
        run(image, op, oq, 1);
    }
  };
  if (threaded) {
    parallel_for_parts(0, cp.n * cp.p, rows);
  } else {
    rows(0, cp.n * cp.p);
  }
}

}  // namespace fovea::cpu::int8
