// Depthwise convolution in channels-last (NHWC) layout: a pixel's channels are contiguous, so
// each output pixel's vector of kLanes channels is a sum of full-vector FMAs, one per tap, with
// the tap's weights for those channels (packed once as [tap][channel]). The NCHW kernels must
// transpose planes into this form and back for every layer (conv2d_depthwise_channels.hpp);
// here the data is already in it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

inline bool conv2d_depthwise_nhwc_supports(const Conv2dProblem& problem) {
  const Conv2dParams& cp = problem.params;
  return problem.input_layout == Layout::nhwc && problem.residual_layout == Layout::nhwc &&
         cp.groups() == cp.c && cp.k == cp.c;
}

// The taps as [tap][channel], channels padded to whole vectors with zeros.
struct DepthwiseNhwcWeights {
  int64_t channels_padded;
  AlignedBuffer taps;
};

inline std::shared_ptr<const void> conv2d_depthwise_nhwc_prepare(const Tensor<float>& weight,
                                                                 const Conv2dParams& cp) {
  auto packed = std::make_shared<DepthwiseNhwcWeights>();
  const int64_t taps = cp.r * cp.s;
  packed->channels_padded = (cp.c + Vec::kLanes - 1) / Vec::kLanes * Vec::kLanes;
  packed->taps.resize(taps * packed->channels_padded);
  float* dst = packed->taps.data();
  for (int64_t t = 0; t < taps; ++t)
    for (int64_t c = 0; c < packed->channels_padded; ++c)
      *dst++ = c < cp.c ? weight.data()[c * taps + t] : 0.0f;
  return packed;
}

namespace detail {

// Up to kBlock output pixels along a row accumulate at once: kBlock independent FMA chains
// hide the FMA latency.
inline constexpr int kDepthwiseNhwcBlock = 8;

// One vector of `lanes` channels (from c0) of kCount consecutive output pixels of row `op`,
// from column q0 on. kChecked: some tap of some pixel falls in the padding, so each is tested
// (the tests are unrolled with the pixels, so the sums stay in registers); otherwise every tap
// is read unchecked.
template <int kCount, bool kChecked>
FOVEA_NOINLINE void depthwise_nhwc_pixels(const float* x, const DepthwiseNhwcWeights& w,
                                          const Conv2dCall& call, int64_t op, int64_t q0,
                                          int64_t c0, int64_t lanes, float* y,
                                          const float* residual) {
  const Conv2dParams& cp = call.params;
  const Conv2dAttrs& a = cp.attrs;
  const bool full = lanes == Vec::kLanes;
  const auto load = [lanes, full](const float* p) {
    return full ? Vec::load(p) : Vec::load_first(p, lanes);
  };
  Vec sum[kCount];
  const Vec bias = call.bias.empty() ? Vec::zero() : load(call.bias.data() + c0);
#pragma GCC unroll 8
  for (int i = 0; i < kCount; ++i)
    sum[i] = bias;
  const int64_t pixel_step = a.stride_w * cp.c;
  for (int64_t r = 0; r < cp.r; ++r) {
    const int64_t ih = op * a.stride_h + r * a.dilation_h - a.pad_top;
    if (ih < 0 || ih >= cp.h) continue;
    const float* row = x + ih * cp.w * cp.c + c0;
    for (int64_t s = 0; s < cp.s; ++s) {
      const Vec tap = Vec::load(w.taps.data() + (r * cp.s + s) * w.channels_padded + c0);
      const int64_t iw0 = q0 * a.stride_w + s * a.dilation_w - a.pad_left;
      const float* src = row + iw0 * cp.c;
#pragma GCC unroll 8
      for (int i = 0; i < kCount; ++i) {
        if (kChecked) {
          const int64_t iw = iw0 + i * a.stride_w;
          if (iw < 0 || iw >= cp.w) continue;
        }
        sum[i] = fmadd(tap, load(src + i * pixel_step), sum[i]);
      }
    }
  }
  const ActivationKind act = call.epilogue.act;
  const bool vector_act = has_vector_form(act);
#pragma GCC unroll 8
  for (int i = 0; i < kCount; ++i) {
    Vec v = sum[i];
    if (residual != nullptr) v = v + load(residual + i * cp.k);
    if (vector_act) v = activate(v, act);
    float* out = y + i * cp.k;
    if (full) {
      v.store(out);
    } else {
      v.store_first(out, lanes);
    }
    if (!vector_act) activate_in_place(out, lanes, act);
  }
}

using DepthwiseNhwcPixels = void (*)(const float*, const DepthwiseNhwcWeights&, const Conv2dCall&,
                                     int64_t, int64_t, int64_t, int64_t, float*, const float*);

template <int... kCount>
DepthwiseNhwcPixels depthwise_nhwc_pixels_for(int64_t count, bool checked,
                                              std::integer_sequence<int, kCount...>) {
  static constexpr DepthwiseNhwcPixels unchecked_table[] = {
      depthwise_nhwc_pixels<kCount + 1, false>...};
  static constexpr DepthwiseNhwcPixels checked_table[] = {
      depthwise_nhwc_pixels<kCount + 1, true>...};
  return (checked ? checked_table : unchecked_table)[count - 1];
}

}  // namespace detail

inline Tensor<float> conv2d_depthwise_nhwc_run(const Conv2dCall& call) {
  constexpr int kBlock = detail::kDepthwiseNhwcBlock;
  const Conv2dParams& cp = call.params;
  const Conv2dAttrs& a = cp.attrs;
  const auto& w = *static_cast<const DepthwiseNhwcWeights*>(call.prepared);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape(), Layout::nhwc);
  const float* residual =
      call.epilogue.residual != nullptr ? call.epilogue.residual->data() : nullptr;
  // The output columns whose every tap lies inside the image: [q_lo, q_hi).
  const int64_t q_lo = std::min(cp.q, (a.pad_left + a.stride_w - 1) / a.stride_w);
  const int64_t reach = (cp.s - 1) * a.dilation_w - a.pad_left;  // last tap's column offset
  const int64_t q_hi =
      cp.w - 1 - reach < 0 ? 0 : std::min(cp.q, (cp.w - 1 - reach) / a.stride_w + 1);
  const auto pixels_for = [](int64_t count, bool checked) {
    return detail::depthwise_nhwc_pixels_for(count, checked,
                                             std::make_integer_sequence<int, kBlock>{});
  };
  // A task is one output row of one image and a share of its channel vectors: a share per
  // row when there are enough rows to keep the threads busy, more for small planes.
  const int64_t vectors = (cp.c + Vec::kLanes - 1) / Vec::kLanes, rows = cp.n * cp.p;
  const int64_t splits = std::min(vectors, (4 * threads_available() + rows - 1) / rows);
  const int64_t vectors_per_split = (vectors + splits - 1) / splits;
  parallel_for(0, rows * splits, [&](int64_t task) {
    const int64_t row = task / splits, n = row / cp.p, op = row % cp.p;
    const int64_t c_begin = (task % splits) * vectors_per_split * Vec::kLanes;
    const int64_t c_end = std::min(cp.c, c_begin + vectors_per_split * Vec::kLanes);
    const float* x = call.x.data() + n * cp.h * cp.w * cp.c;
    const int64_t out_row = row * cp.q * cp.k;
    // Channels innermost: a block's input pixels (all their channels) stay in L1 while
    // every channel vector is computed.
    for (int64_t q0 = 0; q0 < cp.q; q0 += kBlock) {
      const int64_t count = std::min<int64_t>(kBlock, cp.q - q0);
      const detail::DepthwiseNhwcPixels pixels = pixels_for(count, q0 < q_lo || q0 + count > q_hi);
      for (int64_t c0 = c_begin; c0 < c_end; c0 += Vec::kLanes) {
        const int64_t at = out_row + q0 * cp.k + c0;
        pixels(x, w, call, op, q0, c0, std::min<int64_t>(Vec::kLanes, cp.c - c0), y.data() + at,
               residual != nullptr ? residual + at : nullptr);
      }
    }
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
