// Direct convolution, NCHW, groups 1, vectorized across output channels: the layers that would
// otherwise build an im2col matrix (the stems, strided 3×3 convs, 3×3 convs Winograd does not
// take).
//
// A register tile is kGemmMr output pixels of one row × kGemmNr output channels (kGemmNv
// vectors, the GEMM microkernel's shape and ratio: one broadcast input value per kGemmNv FMAs).
// Per tap (c, r, s) it loads the tap's weights for the tile's channels (packed once, as
// [channel block][tap][kGemmNr]) and broadcasts the input value under each of its pixels,
// straight from the image (a zero-padded copy when the conv pads). No [C·R·S, P·Q] matrix is
// written and read back, which im2col pays for every image. The finished tile is transposed in
// registers into the channels' rows, with bias, residual and activation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "fovea/cpu/activation.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/simd.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

// Not 1×1 kernels: a strided 1×1 conv's im2col is a cheap subsampling copy, and reading each
// input channel's plane in turn instead made ResNet-50's stride-2 downsamples 45 % slower.
inline bool conv2d_direct_supports(const Conv2dProblem& problem) {
  const Conv2dParams& cp = problem.params;
  return problem.input_layout == Layout::nchw && problem.residual_layout == Layout::nchw &&
         cp.groups() == 1 && cp.r * cp.s > 1;
}

// The weights as [block of kGemmNr output channels][tap (c, r, s)][kGemmNr], zero past K.
struct DirectConvWeights {
  AlignedBuffer taps;
};

inline std::shared_ptr<const void> direct_conv_prepare(const Tensor<float>& weight,
                                                       const Conv2dParams& cp) {
  auto packed = std::make_shared<DirectConvWeights>();
  const int64_t taps = cp.c * cp.r * cp.s, blocks = (cp.k + kGemmNr - 1) / kGemmNr;
  packed->taps.resize(blocks * taps * kGemmNr);
  float* dst = packed->taps.data();
  for (int64_t block = 0; block < blocks; ++block)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t lane = 0; lane < kGemmNr; ++lane) {
        const int64_t k = block * kGemmNr + lane;
        *dst++ = k < cp.k ? weight.data()[k * taps + t] : 0.0f;
      }
  return packed;
}

namespace detail {

// Where a tile reads: the (padded) image's plane and row lengths, the kernel's shape.
struct DirectConvGeometry {
  int64_t taps;            // C·R·S
  const int64_t* offsets;  // [taps]: where tap (c, r, s) reads, from the tile's first pixel
  int64_t stride_w;
};

// One tile: kPixels pixels (consecutive in an output row) × the kGemmNr channels of a block,
// `channels` of them real. x is the input under the tile's first pixel at tap (0, 0, 0), w the
// block's packed taps, y (and residual, or null) the first channel's output at the first pixel.
// kStride > 0 fixes the stride at compile time, so each pixel's input is an immediate offset;
// 0 reads it from g.stride_w.
template <int kPixels, int kStride>
FOVEA_NOINLINE void direct_conv_tile(const float* x, const float* w, const float* bias,
                                     int64_t channels, const DirectConvGeometry& g, float* y,
                                     const float* residual, int64_t ld_y) {
  constexpr int L = Vec::kLanes;
  const int64_t stride = kStride > 0 ? kStride : g.stride_w;
  Vec acc[kPixels][kGemmNv];
  for (int v = 0; v < kGemmNv; ++v) {
    const int64_t lanes = std::min<int64_t>(L, channels - v * L);
    const Vec b = bias != nullptr && lanes > 0 ? Vec::load_first(bias + v * L, lanes) : Vec::zero();
#pragma GCC unroll 16
    for (int i = 0; i < kPixels; ++i)
      acc[i][v] = b;
  }
  // One loop over all taps, each at its precomputed offset: nested loops over c, r and s ran
  // 3 iterations at a time for 3×3 kernels.
  for (int64_t t = 0; t < g.taps; ++t, w += kGemmNr) {
    const float* src = x + g.offsets[t];
    Vec wv[kGemmNv];
#pragma GCC unroll 4
    for (int v = 0; v < kGemmNv; ++v)
      wv[v] = Vec::load(w + v * L);
#pragma GCC unroll 16
    for (int i = 0; i < kPixels; ++i) {
      const Vec a = Vec::broadcast(src[i * stride]);
#pragma GCC unroll 4
      for (int v = 0; v < kGemmNv; ++v)
        acc[i][v] = fmadd(a, wv[v], acc[i][v]);
    }
  }
  // Each vector of channels: pixels × channels to channels × pixels, then stored per channel.
  for (int v = 0; v < kGemmNv; ++v) {
    Vec rows[L];
    for (int i = 0; i < L; ++i)
      rows[i] = i < kPixels ? acc[i][v] : Vec::zero();
    transpose(rows);
    const int64_t lanes = std::min<int64_t>(L, channels - v * L);
    for (int64_t lane = 0; lane < lanes; ++lane) {
      const int64_t at = (v * L + lane) * ld_y;
      Vec out = rows[lane];
      if (residual != nullptr) out = out + Vec::load_first(residual + at, kPixels);
      out.store_first(y + at, kPixels);
    }
  }
}

using DirectConvTile = void (*)(const float*, const float*, const float*, int64_t,
                                const DirectConvGeometry&, float*, const float*, int64_t);

// The tile function for `pixels` pixels (1 … kGemmMr) at stride `stride`.
template <int... kPixels>
DirectConvTile direct_conv_tile_for(int64_t pixels, int64_t stride,
                                    std::integer_sequence<int, kPixels...>) {
  if (pixels == kGemmMr && stride == 1) return direct_conv_tile<kGemmMr, 1>;
  if (pixels == kGemmMr && stride == 2) return direct_conv_tile<kGemmMr, 2>;
  static constexpr DirectConvTile any_stride[] = {direct_conv_tile<kPixels + 1, 0>...};
  return any_stride[pixels - 1];
}

}  // namespace detail

inline Tensor<float> conv2d_direct_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  const Conv2dAttrs& a = cp.attrs;
  const auto& weights = *static_cast<const DirectConvWeights*>(call.prepared);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape());
  const int64_t padded_h = cp.h + a.pad_top + a.pad_bottom;
  const int64_t padded_w = cp.w + a.pad_left + a.pad_right;
  const int64_t image = cp.c * padded_h * padded_w, pq = cp.p * cp.q;
  // Padding is materialized once per call, each float written once; an unpadded conv reads its
  // input in place.
  const bool pads = a.pad_top + a.pad_bottom + a.pad_left + a.pad_right > 0;
  AlignedBuffer padded(pads ? cp.n * image : 0);
  if (pads) {
    parallel_for_parts(0, cp.n * cp.c, [&](int64_t plane0, int64_t plane1) {
      float* dst = padded.data() + plane0 * padded_h * padded_w;
      for (int64_t plane = plane0; plane < plane1; ++plane) {
        dst = std::fill_n(dst, a.pad_top * padded_w, 0.0f);
        for (int64_t ih = 0; ih < cp.h; ++ih) {
          const float* src = call.x.data() + (plane * cp.h + ih) * cp.w;
          dst = std::fill_n(dst, a.pad_left, 0.0f);
          dst = std::copy(src, src + cp.w, dst);
          dst = std::fill_n(dst, a.pad_right, 0.0f);
        }
        dst = std::fill_n(dst, a.pad_bottom * padded_w, 0.0f);
      }
    });
  }
  const float* input = pads ? padded.data() : call.x.data();
  const int64_t blocks = (cp.k + kGemmNr - 1) / kGemmNr, taps = cp.c * cp.r * cp.s;
  std::vector<int64_t> offsets;  // in the packed weights' order (c, r, s)
  offsets.reserve(static_cast<size_t>(taps));
  for (int64_t c = 0; c < cp.c; ++c)
    for (int64_t r = 0; r < cp.r; ++r)
      for (int64_t s = 0; s < cp.s; ++s)
        offsets.push_back(c * padded_h * padded_w + r * a.dilation_h * padded_w + s * a.dilation_w);
  const detail::DirectConvGeometry g{taps, offsets.data(), a.stride_w};
  const float* residual =
      call.epilogue.residual != nullptr ? call.epilogue.residual->data() : nullptr;
  const auto tile_for = [&](int64_t pixels) {
    return detail::direct_conv_tile_for(pixels, a.stride_w,
                                        std::make_integer_sequence<int, kGemmMr>{});
  };
  const detail::DirectConvTile full = tile_for(kGemmMr);
  const detail::DirectConvTile last = tile_for((cp.q - 1) % kGemmMr + 1);
  // A task is one output row of one channel block of one image.
  const auto row_task = [&](int64_t task) {
    const int64_t op = task % cp.p, block = (task / cp.p) % blocks, n = task / (cp.p * blocks);
    const int64_t k0 = block * kGemmNr, channels = std::min<int64_t>(kGemmNr, cp.k - k0);
    const float* w = weights.taps.data() + block * taps * kGemmNr;
    const float* bias = call.bias.empty() ? nullptr : call.bias.data() + k0;
    const int64_t out = (n * cp.k + k0) * pq + op * cp.q;
    const float* row = input + n * image + op * a.stride_h * padded_w;
    for (int64_t q0 = 0; q0 < cp.q; q0 += kGemmMr) {
      const detail::DirectConvTile tile = q0 + kGemmMr <= cp.q ? full : last;
      tile(row + q0 * a.stride_w, w, bias, channels, g, y.data() + out + q0,
           residual != nullptr ? residual + out + q0 : nullptr, pq);
    }
    for (int64_t k = 0; k < channels; ++k)
      activate_in_place(y.data() + out + k * pq, cp.q, call.epilogue.act);
  };
  // Each thread takes a stretch of neighbouring tasks: rows that share input rows, and the
  // cache lines between output rows.
  parallel_for_parts(0, cp.n * blocks * cp.p, [&](int64_t task0, int64_t task1) {
    for (int64_t task = task0; task < task1; ++task)
      row_task(task);
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
