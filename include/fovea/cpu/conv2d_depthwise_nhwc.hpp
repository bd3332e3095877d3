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
// How stride-1 blocks reuse a kernel row's inputs across its taps: AVX-512's 32 vector registers
// hold the 8 sums and all of the row's 10 or 12 inputs; AVX2's 16 hold the sums and the row's
// taps instead, and each input is loaded once and added into every sum it reaches.
inline constexpr bool kRowInputsInRegisters = Vec::kLanes == 16;

// What every block of one call reads, gathered once per call.
struct DepthwiseNhwcGeometry {
  int64_t c, h, w, r, s, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int64_t channels_padded;
  const float* taps;  // [tap][channels_padded]
  const float* bias;  // or null
  ActivationKind act;
};

// Stores kCount pixels' sums (plus residual, then the activation) at y, pixel stride C.
template <int kCount, bool kFull>
FOVEA_ALWAYS_INLINE void store_depthwise_nhwc(const Vec (&sum)[kCount],
                                              const DepthwiseNhwcGeometry& g, int64_t lanes,
                                              float* y, const float* residual) {
  const bool vector_act = has_vector_form(g.act);
  Vec v[kCount];
#pragma GCC unroll 8
  for (int i = 0; i < kCount; ++i) {
    v[i] = sum[i];
    if (residual != nullptr)
      v[i] = v[i] +
             (kFull ? Vec::load(residual + i * g.c) : Vec::load_first(residual + i * g.c, lanes));
  }
  if (g.act == ActivationKind::silu) {
    silu_in_groups<kCount>([&v](int i) -> Vec& { return v[i]; });
  } else if (vector_act) {
#pragma GCC unroll 8
    for (int i = 0; i < kCount; ++i)
      v[i] = activate(v[i], g.act);
  }
#pragma GCC unroll 8
  for (int i = 0; i < kCount; ++i) {
    float* out = y + i * g.c;
    if (kFull) {
      v[i].store(out);
    } else {
      v[i].store_first(out, lanes);
    }
    if (!vector_act) activate_in_place(out, lanes, g.act);
  }
}

// kVecs vectors of channels (from c0; in the last, `lanes` of them real unless kFull) of kCount
// output pixels: x at the image's channel c0, y and residual at the first pixel's channel c0.
// Rows [r0, r1) of the kernel lie inside the image, the first from input row ih0 + r0 ·
// dilation_h. More than one vector is for blocks of one or two pixels (an image's edge
// columns): one vector's kCount sums are kCount chains of dependent FMAs, each waiting the FMA
// latency at every tap, and a block of one pixel cost as much per vector as eight interior
// pixels; kVecs vectors side by side give kVecs · kCount chains, each in the same order.
template <int kCount, int kVecs, bool kChecked, bool kFull>
FOVEA_ALWAYS_INLINE void depthwise_nhwc_vector(const float* x, const DepthwiseNhwcGeometry& g,
                                               int64_t ih0, int64_t r0, int64_t r1, int64_t iw0,
                                               int64_t c0, int64_t lanes, float* y,
                                               const float* residual) {
  static_assert(kFull || kVecs == 1, "a part vector of channels comes alone");
  const auto load = [lanes](const float* p) {
    return kFull ? Vec::load(p) : Vec::load_first(p, lanes);
  };
  Vec sum[kVecs][kCount];
#pragma GCC unroll 8
  for (int v = 0; v < kVecs; ++v) {
    const Vec bias = g.bias == nullptr ? Vec::zero() : load(g.bias + c0 + v * Vec::kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < kCount; ++i)
      sum[v][i] = bias;
  }
  const int64_t pixel_step = g.stride_w * g.c;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + (ih0 + r * g.dilation_h) * g.w * g.c;
    const float* taps = g.taps + r * g.s * g.channels_padded + c0;
    for (int64_t s = 0; s < g.s; ++s) {
      const int64_t iw = iw0 + s * g.dilation_w;
      const float* src = row + iw * g.c;
#pragma GCC unroll 8
      for (int v = 0; v < kVecs; ++v) {
        const Vec tap = Vec::load(taps + s * g.channels_padded + v * Vec::kLanes);
#pragma GCC unroll 8
        for (int i = 0; i < kCount; ++i) {
          if (kChecked && (iw + i * g.stride_w < 0 || iw + i * g.stride_w >= g.w)) continue;
          sum[v][i] = fmadd(tap, load(src + i * pixel_step + v * Vec::kLanes), sum[v][i]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < kVecs; ++v)
    store_depthwise_nhwc<kCount, kFull>(sum[v], g, lanes, y + v * Vec::kLanes,
                                        residual != nullptr ? residual + v * Vec::kLanes : nullptr);
}

// Stride kStride (2 is used only where the inputs are not kept in registers), no dilation, kS
// columns, all pixels inside the image, whole vectors: each kernel row's input vectors are loaded
// once and serve every tap that reads them, half a load per FMA or less at stride 1 instead of one.
// (On AVX2, one load per FMA ran the 3×3 layers at a quarter of the FMA peak.)
template <int kCount, int kS, int kStride>
FOVEA_ALWAYS_INLINE void depthwise_nhwc_vector_reuse(const float* x, const DepthwiseNhwcGeometry& g,
                                                     int64_t ih0, int64_t r0, int64_t r1,
                                                     int64_t iw0, int64_t c0, float* y,
                                                     const float* residual) {
  constexpr int kInputs = (kCount - 1) * kStride + kS;
  const Vec bias = g.bias == nullptr ? Vec::zero() : Vec::load(g.bias + c0);
  Vec sum[kCount];
#pragma GCC unroll 8
  for (int i = 0; i < kCount; ++i)
    sum[i] = bias;
  for (int64_t r = r0; r < r1; ++r) {
    const float* src = x + ((ih0 + r * g.dilation_h) * g.w + iw0) * g.c;
    const float* taps = g.taps + r * kS * g.channels_padded + c0;
    if constexpr (kRowInputsInRegisters) {
      Vec in[kInputs];
#pragma GCC unroll 16
      for (int j = 0; j < kInputs; ++j)
        in[j] = Vec::load(src + j * g.c);
#pragma GCC unroll 8
      for (int s = 0; s < kS; ++s) {
        const Vec tap = Vec::load(taps + s * g.channels_padded);
#pragma GCC unroll 8
        for (int i = 0; i < kCount; ++i)
          sum[i] = fmadd(tap, in[i * kStride + s], sum[i]);
      }
    } else {
      Vec tap[kS];
#pragma GCC unroll 8
      for (int s = 0; s < kS; ++s) {
        tap[s] = Vec::load(taps + s * g.channels_padded);
      }
      // Input j meets tap s in the sum of pixel (j - s) / kStride, where that divides.
#pragma GCC unroll 32
      for (int j = 0; j < kInputs; ++j) {
        const Vec in = Vec::load(src + j * g.c);
#pragma GCC unroll 8
        for (int s = 0; s < kS; ++s) {
          const int i = (j - s) / kStride;
          if (j >= s && (j - s) % kStride == 0 && i < kCount) sum[i] = fmadd(tap[s], in, sum[i]);
        }
      }
    }
  }
  store_depthwise_nhwc<kCount, true>(sum, g, Vec::kLanes, y, residual);
}

// kCount consecutive output pixels of row `op` from column q0, channels [c_begin, c_end): x at
// the image, y and residual at pixel (op, q0), channel 0. kChecked: some tap of some pixel
// falls in the padding, so each is tested (unrolled with the pixels, so the sums stay in
// registers); otherwise every tap is read unchecked.
template <int kCount, bool kChecked>
FOVEA_NOINLINE void depthwise_nhwc_block(const float* x, const DepthwiseNhwcGeometry& g, int64_t op,
                                         int64_t q0, int64_t c_begin, int64_t c_end, float* y,
                                         const float* residual) {
  const int64_t ih0 = op * g.stride_h - g.pad_top, iw0 = q0 * g.stride_w - g.pad_left;
  int64_t r0 = 0, r1 = g.r;  // the kernel rows inside the image
  while (r0 < r1 && ih0 + r0 * g.dilation_h < 0)
    ++r0;
  while (r1 > r0 && ih0 + (r1 - 1) * g.dilation_h >= g.h)
    --r1;
  const int64_t full_end = c_begin + (c_end - c_begin) / Vec::kLanes * Vec::kLanes;
  // Which reuse form serves this block (0: none): the kernel width at stride 1, ten times it at
  // stride 2. At stride 2 only 5-wide kernels gain: a 3-wide one saves few loads (20 for 24
  // FMAs, against 27) and measured 5 % slower on AVX2, a 5-wide one 8 % faster. The short
  // blocks at the end of a row take it too (3 to 7 pixels): on 7×7 images, whose interior
  // is one such block, the layers ran 10-20 % faster so. Blocks of one or two pixels run four
  // vectors at a time instead.
  int64_t reuse = 0;
  if (!kChecked && kCount >= 3 && g.dilation_w == 1) {
    if (g.stride_w == 1) reuse = g.s;
    if (!kRowInputsInRegisters && g.stride_w == 2 && g.s == 5) reuse = 50;
  }
  int64_t c0 = c_begin;
  if constexpr (kCount <= 2) {
    constexpr int kVecs = 4;
    for (; c0 + kVecs * Vec::kLanes <= full_end; c0 += kVecs * Vec::kLanes)
      depthwise_nhwc_vector<kCount, kVecs, kChecked, true>(
          x + c0, g, ih0, r0, r1, iw0, c0, Vec::kLanes, y + c0,
          residual != nullptr ? residual + c0 : nullptr);
  }
  for (; c0 < full_end; c0 += Vec::kLanes) {
    const float* res = residual != nullptr ? residual + c0 : nullptr;
    if (reuse == 3) {
      depthwise_nhwc_vector_reuse<kCount, 3, 1>(x + c0, g, ih0, r0, r1, iw0, c0, y + c0, res);
    } else if (reuse == 5) {
      depthwise_nhwc_vector_reuse<kCount, 5, 1>(x + c0, g, ih0, r0, r1, iw0, c0, y + c0, res);
    } else if (reuse == 50) {
      depthwise_nhwc_vector_reuse<kCount, 5, 2>(x + c0, g, ih0, r0, r1, iw0, c0, y + c0, res);
    } else {
      depthwise_nhwc_vector<kCount, 1, kChecked, true>(x + c0, g, ih0, r0, r1, iw0, c0, Vec::kLanes,
                                                       y + c0, res);
    }
  }
  if (full_end < c_end)
    depthwise_nhwc_vector<kCount, 1, kChecked, false>(
        x + full_end, g, ih0, r0, r1, iw0, full_end, c_end - full_end, y + full_end,
        residual != nullptr ? residual + full_end : nullptr);
}

using DepthwiseNhwcBlock = void (*)(const float*, const DepthwiseNhwcGeometry&, int64_t, int64_t,
                                    int64_t, int64_t, float*, const float*);

template <int... kCount>
DepthwiseNhwcBlock depthwise_nhwc_block_for(int64_t count, bool checked,
                                            std::integer_sequence<int, kCount...>) {
  static constexpr DepthwiseNhwcBlock unchecked_table[] = {
      depthwise_nhwc_block<kCount + 1, false>...};
  static constexpr DepthwiseNhwcBlock checked_table[] = {depthwise_nhwc_block<kCount + 1, true>...};
  return (checked ? checked_table : unchecked_table)[count - 1];
}

// The call's geometry: x is cp's input, the taps and bias are the layer's.
inline DepthwiseNhwcGeometry depthwise_nhwc_geometry(const Conv2dParams& cp,
                                                     const DepthwiseNhwcWeights& w,
                                                     const float* bias, ActivationKind act) {
  const Conv2dAttrs& a = cp.attrs;
  return {cp.c,          cp.h,         cp.w,         cp.r,      cp.s,       a.stride_h,
          a.stride_w,    a.dilation_h, a.dilation_w, a.pad_top, a.pad_left, w.channels_padded,
          w.taps.data(), bias,         act};
}

// The output columns [lo, hi) whose every tap lies inside the image.
struct DepthwiseNhwcInterior {
  int64_t lo, hi;
};

inline DepthwiseNhwcInterior depthwise_nhwc_interior(const Conv2dParams& cp) {
  const Conv2dAttrs& a = cp.attrs;
  const int64_t q_lo = std::min(cp.q, (a.pad_left + a.stride_w - 1) / a.stride_w);
  const int64_t reach = (cp.s - 1) * a.dilation_w - a.pad_left;  // last tap's column offset
  const int64_t q_hi =
      cp.w - 1 - reach < 0 ? 0 : std::min(cp.q, (cp.w - 1 - reach) / a.stride_w + 1);
  return {std::min(q_lo, q_hi), q_hi};
}

// Output row `op` of one image, channels [c_begin, c_end): x at the image, y and residual at
// the row's first pixel. The interior runs in blocks of kDepthwiseNhwcBlock pixels without
// bounds tests, the edge columns on their own.
inline void depthwise_nhwc_row(const float* x, const DepthwiseNhwcGeometry& g,
                               const DepthwiseNhwcInterior& interior, int64_t q, int64_t op,
                               int64_t c_begin, int64_t c_end, float* y, const float* residual) {
  constexpr int kBlock = kDepthwiseNhwcBlock;
  const auto blocks = [&](int64_t from, int64_t to, bool checked) {
    for (int64_t q0 = from; q0 < to; q0 += kBlock) {
      const int64_t count = std::min<int64_t>(kBlock, to - q0);
      depthwise_nhwc_block_for(count, checked, std::make_integer_sequence<int, kBlock>{})(
          x, g, op, q0, c_begin, c_end, y + q0 * g.c,
          residual != nullptr ? residual + q0 * g.c : nullptr);
    }
  };
  blocks(0, interior.lo, true);
  blocks(interior.lo, interior.hi, false);
  blocks(interior.hi, q, true);
}

}  // namespace detail

inline Tensor<float> conv2d_depthwise_nhwc_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  const auto& w = *static_cast<const DepthwiseNhwcWeights*>(call.prepared);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape(), Layout::nhwc);
  const float* residual =
      call.epilogue.residual != nullptr ? call.epilogue.residual->data() : nullptr;
  const detail::DepthwiseNhwcGeometry g = detail::depthwise_nhwc_geometry(
      cp, w, call.bias.empty() ? nullptr : call.bias.data(), call.epilogue.act);
  const detail::DepthwiseNhwcInterior interior = detail::depthwise_nhwc_interior(cp);
  const auto run_row = [&](int64_t row, int64_t c_begin, int64_t c_end) {
    const int64_t n = row / cp.p, op = row % cp.p, at = row * cp.q * cp.k;
    detail::depthwise_nhwc_row(call.x.data() + n * cp.h * cp.w * cp.c, g, interior, cp.q, op,
                               c_begin, c_end, y.data() + at,
                               residual != nullptr ? residual + at : nullptr);
  };
  // With enough rows to keep the threads busy (four per thread), each thread takes one
  // contiguous stretch of them, as the pointwise GEMM before and after it splits the pixels
  // (gemm_rows_in_place), so it reads rows its own core wrote. On small planes a task is one
  // output row and a share of its channel vectors.
  const int64_t vectors = (cp.c + Vec::kLanes - 1) / Vec::kLanes, rows = cp.n * cp.p;
  const int64_t splits = std::min(vectors, (4 * threads_available() + rows - 1) / rows);
  if (splits == 1) {
    parallel_for_parts(0, rows, [&](int64_t row_begin, int64_t row_end) {
      for (int64_t row = row_begin; row < row_end; ++row)
        run_row(row, 0, cp.c);
    });
    return y;
  }
  const int64_t vectors_per_split = (vectors + splits - 1) / splits;
  parallel_for(0, rows * splits, [&](int64_t task) {
    const int64_t c_begin = (task % splits) * vectors_per_split * Vec::kLanes;
    run_row(task / splits, c_begin, std::min(cp.c, c_begin + vectors_per_split * Vec::kLanes));
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
