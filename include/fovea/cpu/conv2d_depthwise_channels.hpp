// Depthwise convolution vectorized across channels, for small planes (NCHW in and out).
//
// Vectorized along the width (conv2d_depthwise.hpp), a 7 × 7 plane fills 7 of a vector's 16
// lanes and a plane's fixed costs outweigh its 49 outputs. Here kLanes channels are processed
// together: their planes are transposed into a zero-padded [row][column][channel] tile, every
// output pixel is then a sum of full-vector FMAs (one per tap, each lane a channel), and the
// [pixel][channel] result is transposed back into the channels' planes. The transposes run in
// registers, kLanes × kLanes floats at a time.
#pragma once

#include <algorithm>
#include <cstdint>

#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/conv2d_depthwise.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// Output planes up to 56 × 56 pixels: there the width-vectorized kernel idles lanes or pays
// most per output (2–4× slower on 7×7 and 14×14 planes, 1.6× on 56×56). At 112 × 112 the two
// measured the same and the tile would no longer fit in L2 (bench/cpu/bench_conv2d_cpu on the
// mobilenet_v2 and efficientnet_b0 layers).
inline bool conv2d_depthwise_channels_supports(const Conv2dProblem& problem) {
  const Conv2dParams& cp = problem.params;
  return conv2d_depthwise_supports(problem) && cp.p * cp.q <= 56 * 56;
}

namespace detail {

// Where the pieces of one channel group's work live in its thread's scratch.
struct DepthwiseChannelsLayout {
  int64_t padded_h, padded_w;
  int64_t tile_floats;  // the padded [row][column][channel] input
  int64_t out_floats;   // the [pixel][channel] output, whole blocks of kLanes pixels
  int64_t tap_floats;   // the group's taps, [tap][channel]

  // Output blocks of kBlock pixels along a row read up to kBlock - 1 pixels past the row's
  // end (results never stored): the tile keeps that many strides of slack after its end.
  static constexpr int kBlock = 7;

  explicit DepthwiseChannelsLayout(const Conv2dParams& cp) {
    const Conv2dAttrs& a = cp.attrs;
    padded_h = cp.h + a.pad_top + a.pad_bottom;
    padded_w = cp.w + a.pad_left + a.pad_right;
    tile_floats = (padded_h * padded_w + kBlock * a.stride_w) * Vec::kLanes;
    out_floats = (cp.p * cp.q + Vec::kLanes) * Vec::kLanes;
    tap_floats = cp.r * cp.s * Vec::kLanes;
  }
};

// Channels [c0, c0 + count) of one image: x points at channel c0's input plane, y at its output
// plane, residual (or null) at its residual plane; bias (or null) at channel c0's bias.
inline void depthwise_channel_group(const float* x, const float* weight, const float* bias,
                                    const float* residual, int64_t count, ActivationKind act,
                                    const Conv2dParams& cp, const DepthwiseChannelsLayout& layout,
                                    float* y) {
  constexpr int L = Vec::kLanes;
  constexpr int kBlock = DepthwiseChannelsLayout::kBlock;
  const Conv2dAttrs& a = cp.attrs;
  const int64_t hw = cp.h * cp.w, pq = cp.p * cp.q, taps = cp.r * cp.s;
  const int64_t pw = layout.padded_w;
  thread_local AlignedBuffer scratch;
  scratch.resize_kept(layout.tile_floats + layout.out_floats + layout.tap_floats);
  float* tile = scratch.data();
  float* out = tile + layout.tile_floats;
  float* tap_vectors = out + layout.out_floats;

  // The padding: rows above and below, columns left and right of each image row, the slack.
  const auto zero_pixels = [&](int64_t from, int64_t to) {
    std::fill(tile + from * L, tile + to * L, 0.0f);
  };
  zero_pixels(0, a.pad_top * pw);
  for (int64_t ih = 0; ih < cp.h; ++ih) {
    const int64_t row = (ih + a.pad_top) * pw;
    zero_pixels(row, row + a.pad_left);
    zero_pixels(row + a.pad_left + cp.w, row + pw);
  }
  zero_pixels((a.pad_top + cp.h) * pw, layout.tile_floats / L);

  // The image: kLanes pixels of the group's planes at a time, transposed to pixel vectors.
  int64_t ih = 0, iw = 0;  // where pixel p0 + i is, counted rather than divided out
  for (int64_t p0 = 0; p0 < hw; p0 += L) {
    const int64_t pixels = std::min<int64_t>(L, hw - p0);
    Vec rows[L];
    for (int c = 0; c < L; ++c)
      rows[c] = c < count ? Vec::load_first(x + c * hw + p0, pixels) : Vec::zero();
    transpose(rows);
    for (int64_t i = 0; i < pixels; ++i) {
      rows[i].store(tile + ((ih + a.pad_top) * pw + iw + a.pad_left) * L);
      if (++iw == cp.w) iw = 0, ++ih;
    }
  }
  for (int64_t t = 0; t < taps; ++t)
    for (int c = 0; c < L; ++c)
      tap_vectors[t * L + c] = c < count ? weight[c * taps + t] : 0.0f;
  const Vec bias_vector = bias != nullptr ? Vec::load_first(bias, count) : Vec::zero();

  // Each output pixel: the sum over taps of tap vector × input pixel vector; kBlock pixels of a
  // row at once, so kBlock independent FMA chains hide the FMA latency.
  const int64_t step = a.stride_w * L;
  for (int64_t op = 0; op < cp.p; ++op) {
    for (int64_t q0 = 0; q0 < cp.q; q0 += kBlock) {
      Vec sum[kBlock];
      for (Vec& s : sum)
        s = bias_vector;
      for (int64_t r = 0; r < cp.r; ++r) {
        const float* src_row =
            tile + ((op * a.stride_h + r * a.dilation_h) * pw + q0 * a.stride_w) * L;
        for (int64_t s = 0; s < cp.s; ++s) {
          const Vec w = Vec::load(tap_vectors + (r * cp.s + s) * L);
          const float* src = src_row + s * a.dilation_w * L;
#pragma GCC unroll 8
          for (int i = 0; i < kBlock; ++i)
            sum[i] = fmadd(w, Vec::load(src + i * step), sum[i]);
        }
      }
      const int64_t valid = std::min<int64_t>(kBlock, cp.q - q0);
      for (int64_t i = 0; i < valid; ++i)
        sum[i].store(out + (op * cp.q + q0 + i) * L);
    }
  }

  // Back to planes, kLanes pixels at a time, with the residual; then the activation.
  for (int64_t p0 = 0; p0 < pq; p0 += L) {
    const int64_t pixels = std::min<int64_t>(L, pq - p0);
    Vec rows[L];
    for (int64_t i = 0; i < L; ++i)
      rows[i] = i < pixels ? Vec::load(out + (p0 + i) * L) : Vec::zero();
    transpose(rows);
    for (int64_t c = 0; c < count; ++c) {
      Vec v = rows[c];
      if (residual != nullptr) v = v + Vec::load_first(residual + c * pq + p0, pixels);
      v.store_first(y + c * pq + p0, pixels);
    }
  }
  activate_in_place(y, count * pq, act);
}

}  // namespace detail

inline Tensor<float> conv2d_depthwise_channels_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape());
  const int64_t hw = cp.h * cp.w, pq = cp.p * cp.q, taps = cp.r * cp.s;
  const int64_t groups = (cp.c + Vec::kLanes - 1) / Vec::kLanes;
  const float* residual =
      call.epilogue.residual != nullptr ? call.epilogue.residual->data() : nullptr;
  const detail::DepthwiseChannelsLayout layout(cp);
  parallel_for(0, cp.n * groups, [&](int64_t task) {
    const int64_t n = task / groups, c0 = (task % groups) * Vec::kLanes;
    const int64_t plane = n * cp.c + c0;
    detail::depthwise_channel_group(call.x.data() + plane * hw, call.weight.data() + c0 * taps,
                                    call.bias.empty() ? nullptr : call.bias.data() + c0,
                                    residual != nullptr ? residual + plane * pq : nullptr,
                                    std::min<int64_t>(Vec::kLanes, cp.c - c0), call.epilogue.act,
                                    cp, layout, y.data() + plane * pq);
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
