// The INT8 ops around the convs, on NHWC activations: residual add, pools, lookup tables,
// squeeze-excitation's channel scale, and the conversions to and from float. Each is the
// reference's arithmetic (quant/scheme.hpp's functions, element for element) in loops over
// contiguous channels that threads split, so they give the reference's bits.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/int8_isa.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/pool2d/params.hpp"
#include "fovea/quant/qtensor.hpp"

namespace fovea::cpu::int8 {

// Contiguous stretches of [0, count) for the threads, at least `grain` elements each.
inline void parallel_stretches(int64_t count, int64_t grain,
                               const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads_available(), count / grain));
  parallel_for_parts(0, parts,
                     [&](int64_t p0, int64_t p1) { fn(count * p0 / parts, count * p1 / parts); });
}

namespace detail {

// The scheme's requantize for n elements: out[i] = requantize(a[i] − zp_a, m[i or 0],
// addend(b[i]), ...) where m is one multiplier (m_stride 0) or one per element, and the addend
// is (b[i] − zp_b) · mb (b may be null: no addend). The scalar form of every SIMD loop below.
struct RequantRow {
  const uint8_t* a;
  int32_t zp_a;
  const float* m;
  int64_t m_stride;  // 0: m[0] for every element; 1: m[i]
  const uint8_t* b;  // may be null
  int32_t zp_b;
  float mb;
  uint8_t* out;
  int32_t zp_out;
  quant::ClampBounds bounds;
};

inline void requantize_row_generic(const RequantRow& r, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float addend = r.b != nullptr ? quant::residual_addend(r.b[i], r.zp_b, r.mb) : 0.0f;
    r.out[i] = quant::requantize(r.a[i] - r.zp_a, r.m[i * r.m_stride], addend, r.zp_out, r.bounds);
  }
}

#if FOVEA_INT8_SIMD
FOVEA_SILENCE_MAYBE_UNINITIALIZED_BEGIN
// 16 at a time: the same correctly rounded steps (convert, multiply or fused multiply-add,
// clamp, round half to even, add the zero point).
FOVEA_TARGET_AVX512VNNI inline void requantize_row_avx512(const RequantRow& r, int64_t n) {
  const __m512i zp_a = _mm512_set1_epi32(r.zp_a), zp_b = _mm512_set1_epi32(r.zp_b);
  const __m512i zp_out = _mm512_set1_epi32(r.zp_out);
  const __m512 mb = _mm512_set1_ps(r.mb);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(r.bounds.lo - r.zp_out));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(r.bounds.hi - r.zp_out));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask =
        n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 a = _mm512_cvtepi32_ps(
        _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, r.a + i)), zp_a));
    const __m512 m =
        r.m_stride == 0 ? _mm512_set1_ps(r.m[0]) : _mm512_maskz_loadu_ps(mask, r.m + i);
    __m512 t;
    if (r.b != nullptr) {
      const __m512 b = _mm512_cvtepi32_ps(
          _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, r.b + i)), zp_b));
      t = _mm512_fmadd_ps(a, m, _mm512_mul_ps(b, mb));
    } else {
      t = _mm512_mul_ps(a, m);
    }
    t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
    _mm512_mask_cvtepi32_storeu_epi8(r.out + i, mask,
                                     _mm512_add_epi32(_mm512_cvtps_epi32(t), zp_out));
  }
}

// table[x[i]] for 64 bytes at a time: two 128-entry permutes, chosen by each byte's top bit.
FOVEA_TARGET_AVX512VBMI inline void lookup_avx512vbmi(const uint8_t* x, int64_t n,
                                                      const std::array<uint8_t, 256>& table,
                                                      uint8_t* out) {
  const __m512i t0 = _mm512_loadu_si512(table.data()), t1 = _mm512_loadu_si512(table.data() + 64);
  const __m512i t2 = _mm512_loadu_si512(table.data() + 128);
  const __m512i t3 = _mm512_loadu_si512(table.data() + 192);
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 mask = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(mask, x + i);
    const __m512i low = _mm512_permutex2var_epi8(t0, v, t1);   // entries 0–127 (bits 0–6)
    const __m512i high = _mm512_permutex2var_epi8(t2, v, t3);  // entries 128–255
    const __mmask64 top = _mm512_movepi8_mask(v);              // bytes ≥ 128
    _mm512_mask_storeu_epi8(out + i, mask, _mm512_mask_blend_epi8(top, low, high));
  }
}
FOVEA_SILENCE_MAYBE_UNINITIALIZED_END
#endif

inline void requantize_row(const RequantRow& r, int64_t begin, int64_t end) {
#if FOVEA_INT8_SIMD
  if (int8_isa_usable(Int8Isa::avx512vnni)) {
    RequantRow part = r;
    part.a += begin;
    part.out += begin;
    if (part.b != nullptr) part.b += begin;
    part.m += begin * r.m_stride;
    return requantize_row_avx512(part, end - begin);
  }
#endif
  requantize_row_generic(r, begin, end);
}

}  // namespace detail

// y = requantize((a − zp_a) · ma + (b − zp_b) · mb) with clamp bounds; a, b, y of `count`
// elements in the same order.
inline void qadd_run(const quant::QTensor& a, const quant::QTensor& b, quant::QTensor& y,
                     quant::ClampBounds bounds) {
  const float ma = quant::multiplier(a.params.scale, y.params.scale);
  const detail::RequantRow row{a.q.data(),
                               a.params.zero_point,
                               &ma,
                               0,
                               b.q.data(),
                               b.params.zero_point,
                               quant::multiplier(b.params.scale, y.params.scale),
                               y.q.data(),
                               y.params.zero_point,
                               bounds};
  parallel_stretches(a.q.numel(), 4096,
                     [&](int64_t begin, int64_t end) { detail::requantize_row(row, begin, end); });
}

namespace detail {

// out[i] = the largest rows[r][i] over r < count, for i < c.
inline void max_of_rows_generic(const uint8_t* const* rows, int count, int64_t c, uint8_t* out) {
  for (int64_t i = 0; i < c; ++i) {
    uint8_t m = rows[0][i];
    for (int r = 1; r < count; ++r)
      m = std::max(m, rows[r][i]);
    out[i] = m;
  }
}

#if FOVEA_INT8_SIMD
FOVEA_SILENCE_MAYBE_UNINITIALIZED_BEGIN
FOVEA_TARGET_AVX512VNNI inline void max_of_rows_avx512(const uint8_t* const* rows, int count,
                                                       int64_t c, uint8_t* out) {
  for (int64_t i = 0; i < c; i += 64) {
    const __mmask64 mask = c - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (c - i)) - 1;
    __m512i m = _mm512_maskz_loadu_epi8(mask, rows[0] + i);
    for (int r = 1; r < count; ++r)
      m = _mm512_max_epu8(m, _mm512_maskz_loadu_epi8(mask, rows[r] + i));
    _mm512_mask_storeu_epi8(out + i, mask, m);
  }
}

FOVEA_TARGET_AVX2 inline void max_of_rows_avx2(const uint8_t* const* rows, int count, int64_t c,
                                               uint8_t* out) {
  int64_t i = 0;
  for (; i + 32 <= c; i += 32) {
    __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[0] + i));
    for (int r = 1; r < count; ++r)
      m = _mm256_max_epu8(m, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[r] + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), m);
  }
  const uint8_t* tails[64];
  for (int r = 0; r < count; ++r)
    tails[r] = rows[r] + i;
  max_of_rows_generic(tails, count, c - i, out + i);
}
FOVEA_SILENCE_MAYBE_UNINITIALIZED_END
#endif

inline void max_of_rows(const uint8_t* const* rows, int count, int64_t c, uint8_t* out) {
#if FOVEA_INT8_SIMD
  if (int8_isa_usable(Int8Isa::avx512vnni)) return max_of_rows_avx512(rows, count, c, out);
  if (int8_isa_usable(Int8Isa::avx2)) return max_of_rows_avx2(rows, count, c, out);
#endif
  max_of_rows_generic(rows, count, c, out);
}

}  // namespace detail

// Max pooling, one output row of every image per task; each output pixel the channel-wise
// maximum of its window's pixels (at most 64 of them).
inline void qmax_pool_nhwc_run(const quant::QTensor& x, const Pool2dParams& pp, quant::QTensor& y) {
  const Pool2dAttrs& a = pp.attrs;
  FOVEA_CHECK(a.kernel_h * a.kernel_w <= 64, "INT8 max_pool2d: a ", a.kernel_h, "x", a.kernel_w,
              " window is larger than the kernel's 64 pixels");
  const int64_t c = pp.c;
  parallel_for(0, pp.n * pp.p, [&](int64_t image_row) {
    const uint8_t* window[64];
    const int64_t n = image_row / pp.p, op = image_row % pp.p;
    const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
    const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
    for (int64_t oq = 0; oq < pp.q; ++oq) {
      const int64_t w0 = std::max<int64_t>(oq * a.stride_w - a.pad_left, 0);
      const int64_t w1 = std::min(oq * a.stride_w - a.pad_left + a.kernel_w, pp.w);
      int count = 0;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw)
          window[count++] = x.q.data() + ((n * pp.h + ih) * pp.w + iw) * c;
      detail::max_of_rows(window, count, c, y.q.data() + ((n * pp.p + op) * pp.q + oq) * c);
    }
  });
}

// The average of input rows [h0, h1) × columns [w0, w1) of image n into `out` (C channels),
// with multiplier `m`: int32 sums of (x − zp) channel by channel, then requantize.
inline void qaverage_window(const quant::QTensor& x, int64_t n, int64_t h0, int64_t h1, int64_t w0,
                            int64_t w1, float m, const quant::QuantParams& out_params, uint8_t* out,
                            std::vector<int32_t>& sums) {
  const int64_t c = x.dim(1), h = x.dim(2), w = x.dim(3);
  sums.assign(static_cast<size_t>(c), 0);
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t iw = w0; iw < w1; ++iw) {
      const uint8_t* in = x.q.data() + ((n * h + ih) * w + iw) * c;
      for (int64_t i = 0; i < c; ++i)
        sums[static_cast<size_t>(i)] += in[i];
    }
  const int32_t zp_sum = x.params.zero_point * static_cast<int32_t>((h1 - h0) * (w1 - w0));
  for (int64_t i = 0; i < c; ++i)
    out[i] = quant::requantize(sums[static_cast<size_t>(i)] - zp_sum, m, 0.0f,
                               out_params.zero_point, quant::ClampBounds{});
}

// torch's adaptive_avg_pool2d windows (a global pool at out 1 × 1).
inline void qadaptive_avg_pool_nhwc_run(const quant::QTensor& x, quant::QTensor& y) {
  const int64_t h = x.dim(2), w = x.dim(3), out_h = y.dim(2), out_w = y.dim(3);
  const float ratio = quant::multiplier(x.params.scale, y.params.scale);
  parallel_for(0, y.dim(0) * out_h, [&](int64_t image_row) {
    std::vector<int32_t> sums;
    const int64_t n = image_row / out_h, op = image_row % out_h;
    const int64_t h0 = op * h / out_h, h1 = ((op + 1) * h + out_h - 1) / out_h;
    for (int64_t oq = 0; oq < out_w; ++oq) {
      const int64_t w0 = oq * w / out_w, w1 = ((oq + 1) * w + out_w - 1) / out_w;
      const float m = ratio / static_cast<float>((h1 - h0) * (w1 - w0));
      qaverage_window(x, n, h0, h1, w0, w1, m, y.params,
                      y.q.data() + ((n * out_h + op) * out_w + oq) * x.dim(1), sums);
    }
  });
}

// y = table[x], element by element.
inline void qlookup_run(const quant::QTensor& x, const std::array<uint8_t, 256>& table,
                        quant::QTensor& y) {
  const uint8_t* in = x.q.data();
  uint8_t* out = y.q.data();
  parallel_stretches(x.q.numel(), 16384, [&](int64_t begin, int64_t end) {
#if FOVEA_INT8_SIMD
    if (int8_vbmi_usable())
      return detail::lookup_avx512vbmi(in + begin, end - begin, table, out + begin);
#endif
    for (int64_t i = begin; i < end; ++i)
      out[i] = table[in[i]];
  });
}

// y[n, h, w, c] = requantize((x − zp) · gate[n, c] · ratio), the multiplier rounded once.
inline void qchannel_scale_nhwc_run(const quant::QTensor& x, const float* gates,
                                    quant::QTensor& y) {
  const int64_t c = x.dim(1), pixels = x.dim(2) * x.dim(3);
  const float ratio = quant::multiplier(x.params.scale, y.params.scale);
  std::vector<float> m(static_cast<size_t>(x.dim(0) * c));
  for (size_t i = 0; i < m.size(); ++i)
    m[i] = gates[i] * ratio;
  parallel_stretches(x.dim(0) * pixels, 64, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const detail::RequantRow row{
          x.q.data() + p * c, x.params.zero_point, m.data() + p / pixels * c, 1, nullptr, 0, 0.0f,
          y.q.data() + p * c, y.params.zero_point, quant::ClampBounds{}};
      detail::requantize_row(row, 0, c);
    }
  });
}

namespace detail {

// out[i] = quantize_value(x[i], p) for i < n, as scheme.hpp defines it.
inline void quantize_row_generic(const float* x, int64_t n, const quant::QuantParams& p,
                                 uint8_t* out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = quant::quantize_value(x[i], p);
}

#if FOVEA_INT8_SIMD
FOVEA_SILENCE_MAYBE_UNINITIALIZED_BEGIN
// The same steps: an IEEE division, max with lo first (so a NaN gives lo, as the scalar form),
// min with hi, round half to even (cvtps2dq), plus the zero point.
FOVEA_TARGET_AVX512VNNI inline void quantize_row_avx512(const float* x, int64_t n,
                                                        const quant::QuantParams& p, uint8_t* out) {
  const __m512 scale = _mm512_set1_ps(p.scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(quant::kActivationMin - p.zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(quant::kActivationMax - p.zero_point));
  const __m512i zp = _mm512_set1_epi32(p.zero_point);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask =
        n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 t = _mm512_div_ps(_mm512_maskz_loadu_ps(mask, x + i), scale);
    t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
    _mm512_mask_cvtepi32_storeu_epi8(out + i, mask, _mm512_add_epi32(_mm512_cvtps_epi32(t), zp));
  }
}
FOVEA_SILENCE_MAYBE_UNINITIALIZED_END
#endif

inline void quantize_row(const float* x, int64_t n, const quant::QuantParams& p, uint8_t* out) {
#if FOVEA_INT8_SIMD
  if (int8_isa_usable(Int8Isa::avx512vnni)) return quantize_row_avx512(x, n, p, out);
#endif
  quantize_row_generic(x, n, p, out);
}

}  // namespace detail

namespace detail {

// out[iw · c + ic] = channels[ic · w + iw]: one image row's channel rows interleaved. An image's
// 3 channels get their own loop, which the compiler turns into shuffles: byte by byte, the
// interleaving took longer than the quantization (7 % of MobileNetV2's INT8 forward).
inline void interleave_channels(const uint8_t* channels, int64_t c, int64_t w, uint8_t* out) {
  if (c == 3) {
    const uint8_t *r = channels, *g = channels + w, *b = channels + 2 * w;
    for (int64_t iw = 0; iw < w; ++iw) {
      out[3 * iw] = r[iw];
      out[3 * iw + 1] = g[iw];
      out[3 * iw + 2] = b[iw];
    }
    return;
  }
  for (int64_t iw = 0; iw < w; ++iw)
    for (int64_t ic = 0; ic < c; ++ic)
      out[iw * c + ic] = channels[ic * w + iw];
}

}  // namespace detail

// Float (N, C, H, W) in either layout → u8 NHWC. An NCHW input is quantized a channel row at a
// time, then its channels interleaved.
inline void quantize_nhwc_run(const Tensor<float>& x, quant::QTensor& y) {
  const int64_t c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const bool nhwc = x.layout() == Layout::nhwc;
  parallel_for(0, x.dim(0) * h, [&](int64_t image_row) {
    const int64_t n = image_row / h, ih = image_row % h;
    uint8_t* out = y.q.data() + image_row * w * c;
    if (nhwc) {
      detail::quantize_row(x.data() + image_row * w * c, w * c, y.params, out);
      return;
    }
    std::vector<uint8_t> channels(static_cast<size_t>(c * w));
    for (int64_t ic = 0; ic < c; ++ic)
      detail::quantize_row(x.data() + ((n * c + ic) * h + ih) * w, w, y.params,
                           channels.data() + ic * w);
    detail::interleave_channels(channels.data(), c, w, out);
  });
}

}  // namespace fovea::cpu::int8
