// CPU paths for the cheap ops between convolutions: same-shape add and activations (flat loops
// over contiguous memory, so any layout), and max pooling and global average pooling on NCHW and
// NHWC tensors. The work is split into chunks, planes or rows over the thread pool.
//
// add is bit-identical to add_reference (a float sum rounded from double is the float sum), and
// the pools are too, in both layouts: max visits each window in the reference's order with the
// reference's comparison, and the average sums each channel in pixel order in double, then
// divides in double, like the reference.
#pragma once

#include <algorithm>
#include <cmath>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/pool2d/params.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

inline constexpr int64_t kElementwiseChunk = 1 << 15;

// Calls fn(begin, end) over [0, count) in chunks spread over the pool.
template <class Fn>
void for_chunks(int64_t count, Fn fn) {
  parallel_for(0, (count + kElementwiseChunk - 1) / kElementwiseChunk, [&](int64_t chunk) {
    const int64_t begin = chunk * kElementwiseChunk;
    fn(begin, std::min(count, begin + kElementwiseChunk));
  });
}

// a + b for tensors of the same shape and layout.
inline Tensor<float> add_same_shape(const Tensor<float>& a, const Tensor<float>& b) {
  Tensor<float> y = Tensor<float>::uninitialized(a.shape(), a.layout());
  for_chunks(a.numel(), [&](int64_t begin, int64_t end) {
    const float *pa = a.data(), *pb = b.data();
    float* py = y.data();
    for (int64_t i = begin; i < end; ++i)
      py[i] = pa[i] + pb[i];
  });
  return y;
}

inline Tensor<float> activation_f32(const Tensor<float>& x, ActivationKind kind) {
  Tensor<float> y = Tensor<float>::uninitialized(x.shape(), x.layout());
  for_chunks(x.numel(), [&](int64_t begin, int64_t end) {
    std::copy(x.data() + begin, x.data() + end, y.data() + begin);
    activate_in_place(y.data() + begin, end - begin, kind);
  });
  return y;
}

// The larger of v and best lane by lane, as max_pool2d_reference picks it: v where v > best or v
// is NaN, else best. (maxps(a, b) is a > b ? a : b, so only a NaN v needs the extra step.)
inline Vec pool_larger(Vec v, Vec best) {
#if defined(__AVX512F__)
  const __mmask16 is_nan = _mm512_cmp_ps_mask(v.v, v.v, _CMP_UNORD_Q);
  return {_mm512_mask_max_ps(v.v, static_cast<__mmask16>(~is_nan), v.v, best.v)};
#elif defined(__AVX2__) && defined(__FMA__)
  return {_mm256_blendv_ps(_mm256_max_ps(v.v, best.v), v.v, _mm256_cmp_ps(v.v, v.v, _CMP_UNORD_Q))};
#elif defined(FOVEA_CPU_NEON)
  // v where v > best or v != v (NaN); fmax would pick a NaN best over v too.
  const auto larger = [](float32x4_t v, float32x4_t best) {
    const uint32x4_t take_v = vorrq_u32(vcgtq_f32(v, best), vmvnq_u32(vceqq_f32(v, v)));
    return vbslq_f32(take_v, v, best);
  };
  return {larger(v.lo, best.lo), larger(v.hi, best.hi)};
#else
  Vec r;
  for (int i = 0; i < Vec::kLanes; ++i)
    r.v[i] = (v.v[i] > best.v[i] || v.v[i] != v.v[i]) ? v.v[i] : best.v[i];
  return r;
#endif
}

// max_pool2d on NCHW, one plane per task: for each output row, first the maximum down the
// window's rows for every input column (vectorized), then across the window's columns.
// Max is exact, so the order does not change the result; any NaN in a window gives NaN, as in
// the reference.
inline Tensor<float> max_pool2d_nchw(const Tensor<float>& x, const Pool2dParams& pp) {
  const Pool2dAttrs& a = pp.attrs;
  Tensor<float> y = Tensor<float>::uninitialized(pp.output_shape());
  const auto larger = [](float v, float best) { return (v > best || v != v) ? v : best; };
  const int64_t sw = a.stride_w;
  // The outputs whose window lies inside the row: [q_lo, q_hi).
  const int64_t q_lo = std::min(pp.q, (a.pad_left + sw - 1) / sw);
  const int64_t q_hi = pp.w - a.kernel_w + a.pad_left < 0
                           ? 0
                           : std::min(pp.q, (pp.w - a.kernel_w + a.pad_left) / sw + 1);
  // kLanes values from `first`, sw apart (sw is 1 or 2).
  const auto every_stride = [sw](const float* first) {
    if (sw == 1) return Vec::load(first);
    Vec even, odd;
    deinterleave(Vec::load(first), Vec::load(first + Vec::kLanes), even, odd);
    return even;
  };
  parallel_for(0, pp.n * pp.c, [&](int64_t plane) {
    const float* in = x.data() + plane * pp.h * pp.w;
    float* out = y.data() + plane * pp.p * pp.q;
    thread_local AlignedBuffer column_max;
    column_max.resize_kept(pp.w + 2 * Vec::kLanes);  // stride 2 reads a vector past its last
    float* cm = column_max.data();
    for (int64_t op = 0; op < pp.p; ++op) {
      const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
      const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
      std::copy(in + h0 * pp.w, in + (h0 + 1) * pp.w, cm);
      for (int64_t ih = h0 + 1; ih < h1; ++ih) {
        const float* row = in + ih * pp.w;
        int64_t iw = 0;
        for (; iw + Vec::kLanes <= pp.w; iw += Vec::kLanes)
          pool_larger(Vec::load(row + iw), Vec::load(cm + iw)).store(cm + iw);
        for (; iw < pp.w; ++iw)
          cm[iw] = larger(row[iw], cm[iw]);
      }
      // Across the window's columns: one output at a time at the edges (and for strides past
      // 2), vectors of outputs between them. One at a time, the comparison is a branch on the
      // data, mispredicted about half the time: ResNet-50's pool took 2.1 ms.
      int64_t oq = 0;
      const auto one_by_one = [&](int64_t end) {
        for (; oq < end; ++oq) {
          const int64_t w0 = std::max<int64_t>(oq * sw - a.pad_left, 0);
          const int64_t w1 = std::min(oq * sw - a.pad_left + a.kernel_w, pp.w);
          float best = cm[w0];
          for (int64_t iw = w0 + 1; iw < w1; ++iw)
            best = larger(cm[iw], best);
          out[op * pp.q + oq] = best;
        }
      };
      one_by_one(q_lo);
      if (sw <= 2) {
        for (; oq + Vec::kLanes <= q_hi; oq += Vec::kLanes) {
          const float* first = cm + oq * sw - a.pad_left;
          Vec best = every_stride(first);
          for (int64_t j = 1; j < a.kernel_w; ++j)
            best = pool_larger(every_stride(first + j), best);
          best.store(out + op * pp.q + oq);
        }
      }
      one_by_one(pp.q);
    }
  });
  return y;
}

// Mean of each NCHW plane: (N, C, H, W) -> (N, C, 1, 1).
inline Tensor<float> global_avg_pool2d_nchw(const Tensor<float>& x) {
  const int64_t planes = x.dim(0) * x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor<float> y(Shape{x.dim(0), x.dim(1), 1, 1});
  parallel_for(0, (planes + 63) / 64, [&](int64_t task) {
    for (int64_t plane = task * 64; plane < std::min(planes, task * 64 + 64); ++plane) {
      const float* in = x.data() + plane * hw;
      double sum = 0;
      for (int64_t i = 0; i < hw; ++i)
        sum += in[i];
      y.data()[plane] = static_cast<float>(sum / double(hw));
    }
  });
  return y;
}

namespace detail {

// One output pixel of an NHWC max pool over channels [0, kVecs · kLanes) from `first` (the
// window's top-left pixel at the block's first channel): rows × cols pixels, `row_step` and
// `col_step` floats apart, visited row by row from the top-left one as the reference does.
template <int kVecs>
void max_window_nhwc(const float* first, int64_t row_step, int64_t col_step, int64_t rows,
                     int64_t cols, float* out) {
  Vec best[kVecs];
  for (int k = 0; k < kVecs; ++k)
    best[k] = Vec::load(first + k * Vec::kLanes);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t s = 0; s < cols; ++s) {
      const float* px = first + r * row_step + s * col_step;
      for (int k = 0; k < kVecs; ++k)
        best[k] = pool_larger(Vec::load(px + k * Vec::kLanes), best[k]);
    }
  }
  for (int k = 0; k < kVecs; ++k)
    best[k].store(out + k * Vec::kLanes);
}

// The same for the last 0 < lanes < kLanes channels.
inline void max_window_nhwc_tail(const float* first, int64_t row_step, int64_t col_step,
                                 int64_t rows, int64_t cols, int64_t lanes, float* out) {
  Vec best = Vec::load_first(first, lanes);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t s = 0; s < cols; ++s)
      best = pool_larger(Vec::load_first(first + r * row_step + s * col_step, lanes), best);
  }
  best.store_first(out, lanes);
}

// sums[i] = Σ over pixels p, in order, of double(x[p · stride + i]) for i < count: each
// channel's sum is the reference's sum, whichever lanes it is added in. Four vectors of doubles
// at a time, so each pixel's block of channels is read once. (The AVX-512 conversion is the
// all-lanes mask form, which sidesteps GCC 12's false -Wmaybe-uninitialized, as in simd.hpp.)
inline void sum_pixels_nhwc(const float* x, int64_t pixels, int64_t stride, int64_t count,
                            double* sums) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 32 <= count; i += 32) {
    __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(),
                      _mm512_setzero_pd()};
    for (int64_t p = 0; p < pixels; ++p) {
      const float* px = x + p * stride + i;
      for (int k = 0; k < 4; ++k)
        acc[k] = _mm512_add_pd(acc[k], _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(px + 8 * k)));
    }
    for (int k = 0; k < 4; ++k)
      _mm512_storeu_pd(sums + i + 8 * k, acc[k]);
  }
  for (; i + 8 <= count; i += 8) {
    __m512d acc = _mm512_setzero_pd();
    for (int64_t p = 0; p < pixels; ++p)
      acc = _mm512_add_pd(acc, _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(x + p * stride + i)));
    _mm512_storeu_pd(sums + i, acc);
  }
#elif defined(__AVX2__) && defined(__FMA__)
  for (; i + 16 <= count; i += 16) {
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                      _mm256_setzero_pd()};
    for (int64_t p = 0; p < pixels; ++p) {
      const float* px = x + p * stride + i;
      for (int k = 0; k < 4; ++k)
        acc[k] = _mm256_add_pd(acc[k], _mm256_cvtps_pd(_mm_loadu_ps(px + 4 * k)));
    }
    for (int k = 0; k < 4; ++k)
      _mm256_storeu_pd(sums + i + 4 * k, acc[k]);
  }
  for (; i + 4 <= count; i += 4) {
    __m256d acc = _mm256_setzero_pd();
    for (int64_t p = 0; p < pixels; ++p)
      acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_loadu_ps(x + p * stride + i)));
    _mm256_storeu_pd(sums + i, acc);
  }
#elif defined(FOVEA_CPU_NEON)
  // As AVX2's loop: 16 channels in eight registers of two doubles.
  for (; i + 16 <= count; i += 16) {
    float64x2_t acc[8];
    for (float64x2_t& a : acc)
      a = vdupq_n_f64(0.0);
    for (int64_t p = 0; p < pixels; ++p) {
      const float* px = x + p * stride + i;
      for (int k = 0; k < 4; ++k) {
        const float32x4_t f = vld1q_f32(px + 4 * k);
        acc[2 * k] = vaddq_f64(acc[2 * k], vcvt_f64_f32(vget_low_f32(f)));
        acc[2 * k + 1] = vaddq_f64(acc[2 * k + 1], vcvt_high_f64_f32(f));
      }
    }
    for (int k = 0; k < 8; ++k)
      vst1q_f64(sums + i + 2 * k, acc[k]);
  }
#endif
#if !defined(__AVX512F__) && !(defined(__AVX2__) && defined(__FMA__))
  for (; i + 4 <= count; i += 4) {
    double acc[4] = {0, 0, 0, 0};
    for (int64_t p = 0; p < pixels; ++p) {
      const float* px = x + p * stride + i;
      for (int k = 0; k < 4; ++k)
        acc[k] += px[k];
    }
    std::copy(acc, acc + 4, sums + i);
  }
#endif
  for (; i < count; ++i) {
    double acc = 0;
    for (int64_t p = 0; p < pixels; ++p)
      acc += x[p * stride + i];
    sums[i] = acc;
  }
}

// Channels per task of channel_means_nhwc: one pass of sum_pixels_nhwc's widest loop.
inline constexpr int64_t kMeanChannelBlock = 32;

// means[n · C + c] = the mean of channel c of image n of the NHWC tensor x, summed in pixel
// order in double and divided in double: global_avg_pool2d_reference's value, bit for bit. One
// task per image and block of channels.
inline void channel_means_nhwc(const Tensor<float>& x, float* means) {
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  const int64_t blocks = (c + kMeanChannelBlock - 1) / kMeanChannelBlock;
  parallel_for(0, n * blocks, [&](int64_t task) {
    const int64_t image = task / blocks, c0 = (task % blocks) * kMeanChannelBlock;
    const int64_t count = std::min(kMeanChannelBlock, c - c0);
    double sums[kMeanChannelBlock];
    sum_pixels_nhwc(x.data() + image * hw * c + c0, hw, c, count, sums);
    for (int64_t i = 0; i < count; ++i)
      means[image * c + c0 + i] = static_cast<float>(sums[i] / double(hw));
  });
}

}  // namespace detail

// max_pool2d on NHWC, output NHWC, one output row of one image per task. Each output pixel
// takes the maximum over its window with whole vectors of channels (four at a time, then one,
// then a masked tail), in the reference's window order and with its comparison, so the result
// is the reference's bit for bit, NaN included.
inline Tensor<float> max_pool2d_nhwc(const Tensor<float>& x, const Pool2dParams& pp) {
  const Pool2dAttrs& a = pp.attrs;
  Tensor<float> y = Tensor<float>::uninitialized(pp.output_shape(), Layout::nhwc);
  const int64_t c = pp.c, row_step = pp.w * c;
  constexpr int64_t kWide = 4 * Vec::kLanes;
  parallel_for(0, pp.n * pp.p, [&](int64_t task) {
    const int64_t image = task / pp.p, op = task % pp.p;
    const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
    const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
    const float* in = x.data() + image * pp.h * row_step + h0 * row_step;
    float* out = y.data() + (image * pp.p + op) * pp.q * c;
    for (int64_t oq = 0; oq < pp.q; ++oq, out += c) {
      const int64_t w0 = std::max<int64_t>(oq * a.stride_w - a.pad_left, 0);
      const int64_t w1 = std::min(oq * a.stride_w - a.pad_left + a.kernel_w, pp.w);
      const float* first = in + w0 * c;
      int64_t i = 0;
      for (; i + kWide <= c; i += kWide)
        detail::max_window_nhwc<4>(first + i, row_step, c, h1 - h0, w1 - w0, out + i);
      for (; i + Vec::kLanes <= c; i += Vec::kLanes)
        detail::max_window_nhwc<1>(first + i, row_step, c, h1 - h0, w1 - w0, out + i);
      if (i < c)
        detail::max_window_nhwc_tail(first + i, row_step, c, h1 - h0, w1 - w0, c - i, out + i);
    }
  });
  return y;
}

// Mean of each channel of an NHWC tensor: (N, C, H, W) -> (N, C, 1, 1), returned NCHW (an
// (N, C, 1, 1) tensor has the same bytes in both layouts, and flatten then needs no copy).
// Bit-identical to global_avg_pool2d_reference (detail::channel_means_nhwc).
inline Tensor<float> global_avg_pool2d_nhwc(const Tensor<float>& x) {
  Tensor<float> y = Tensor<float>::uninitialized(Shape{x.dim(0), x.dim(1), 1, 1});
  detail::channel_means_nhwc(x, y.data());
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
