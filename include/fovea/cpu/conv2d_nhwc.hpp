// Ungrouped convolutions in channels-last (NHWC) layout, on gemm_rows_in_place.hpp:
//
//   pointwise: a 1×1 stride-1 unpadded conv is one GEMM over the whole batch,
//              Y[n·h·w, k] = X[n·h·w, c] · Wᵀ[c, k], X read where it lies;
//   direct:    any other ungrouped conv. A register tile is kGemmMr output pixels of one row ×
//              kGemmNr output channels, summed over the taps (r, s): per tap, the same GEMM
//              tile with A's rows at the tap's pixels (row stride = stride_w · C) in a
//              zero-padded copy of the image when the conv pads. Wide layers sum their input
//              channels in blocks, so that a panel's block of weights stays in L2.
//
// Either way the tile's rows are pixels and its columns channels, which is how NHWC stores the
// output: tiles are stored as they are, with bias, residual and activation, and nothing is
// transposed. That is what the channels-first kernels pay for (im2col, or the direct kernel's
// in-register transposes).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/gemm_rows_in_place.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/conv2d/kernel_api.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

inline bool nhwc_problem(const Conv2dProblem& problem) {
  return problem.input_layout == Layout::nhwc && problem.residual_layout == Layout::nhwc;
}

// A conv with no input channels (only its bias) is left to the reference: the GEMM needs K > 0.
inline bool conv2d_nhwc_pointwise_supports(const Conv2dProblem& problem) {
  const Conv2dParams& cp = problem.params;
  const Conv2dAttrs& a = cp.attrs;
  return nhwc_problem(problem) && cp.c > 0 && cp.groups() == 1 && cp.r == 1 && cp.s == 1 &&
         a.stride_h == 1 && a.stride_w == 1 &&
         a.pad_top + a.pad_bottom + a.pad_left + a.pad_right == 0;
}

inline bool conv2d_nhwc_direct_supports(const Conv2dProblem& problem) {
  return nhwc_problem(problem) && problem.params.groups() == 1;
}

// Wᵀ for the pointwise GEMM: element (c, k) = weight[k][c], in K blocks of kGemmKc.
inline std::shared_ptr<const void> conv2d_nhwc_pointwise_prepare(const Tensor<float>& weight,
                                                                 const Conv2dParams& cp) {
  return std::make_shared<PackedMatrixB>(cp.c, cp.k, weight.data(), 1, cp.c, kGemmKc);
}

namespace detail {

// How many input channels one depth block of the direct kernel's B holds: as many as keep a
// panel's block (taps · channels · kGemmNr floats) within an eighth of L2, split evenly. The
// block and the input rows it meets then share L2 with room to spare: a whole 512-channel 3×3
// panel (590 KB) beside a stride-2 layer's input (460 KB) did not fit, and ran at 38 % of peak.
inline int64_t nhwc_direct_block_channels(const Conv2dParams& cp) {
  const int64_t taps = cp.r * cp.s;
  const int64_t per_channel = taps * kGemmNr * int64_t{sizeof(float)};
  const int64_t most = std::max<int64_t>(1, kGemmL2Bytes / 8 / per_channel);
  const int64_t blocks = (cp.c + most - 1) / most;
  return (cp.c + blocks - 1) / blocks;
}

}  // namespace detail

// The direct kernel's B: rows (channel block, tap (r, s), channel in the block), columns k, in
// depth blocks of taps × nhwc_direct_block_channels (the last block may hold fewer channels).
inline std::shared_ptr<const void> conv2d_nhwc_direct_prepare(const Tensor<float>& weight,
                                                              const Conv2dParams& cp) {
  const int64_t taps = cp.r * cp.s, depth = taps * cp.c;
  const int64_t block = detail::nhwc_direct_block_channels(cp);
  std::vector<float> rows(static_cast<size_t>(depth * cp.k));
  for (int64_t c0 = 0; c0 < cp.c; c0 += block) {
    const int64_t kc = std::min(block, cp.c - c0);
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t c = c0; c < c0 + kc; ++c)
        for (int64_t k = 0; k < cp.k; ++k)
          rows[static_cast<size_t>((c0 * taps + t * kc + (c - c0)) * cp.k + k)] =
              weight.data()[(k * cp.c + c) * taps + t];
  }
  return std::make_shared<PackedMatrixB>(depth, cp.k, rows.data(), cp.k, 1, taps * block);
}

namespace detail {

inline GemmEpilogue nhwc_epilogue(const Conv2dCall& call) {
  GemmEpilogue e;
  if (!call.bias.empty()) e.col_bias = call.bias.data();
  if (call.epilogue.residual != nullptr) {
    e.residual = call.epilogue.residual->data();
    e.ld_residual = call.params.k;
  }
  e.act = call.epilogue.act;
  return e;
}

}  // namespace detail

inline Tensor<float> conv2d_nhwc_pointwise_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape(), Layout::nhwc);
  gemm_rows_in_place(cp.n * cp.h * cp.w, call.x.data(), cp.c,
                     *static_cast<const PackedMatrixB*>(call.prepared), y.data(), cp.k,
                     detail::nhwc_epilogue(call));
  return y;
}

// conv2d_nhwc_pointwise_run on x · gates, for gates [N, C], one per image and input channel (a
// squeeze-and-excitation's), without forming x · gates: per image, the packed weights with each
// input channel's row scaled by its gate, then that image's GEMM. Scaling the C × K weights
// takes less work than a pass over the image's H·W·C floats when H·W ≥ K
// (conv2d_nhwc_gating_pays), and no pass over the block's widest tensor.
inline Tensor<float> conv2d_nhwc_pointwise_gated_run(const Conv2dCall& call, const float* gates) {
  const Conv2dParams& cp = call.params;
  const auto& weights = *static_cast<const PackedMatrixB*>(call.prepared);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape(), Layout::nhwc);
  const int64_t pixels = cp.h * cp.w;
  GemmEpilogue e = detail::nhwc_epilogue(call);
  for (int64_t image = 0; image < cp.n; ++image) {
    const PackedMatrixB gated = weights.with_rows_scaled(gates + image * cp.c);
    GemmEpilogue image_e = e;
    if (e.residual != nullptr) image_e.residual = e.residual + image * pixels * cp.k;
    gemm_rows_in_place(pixels, call.x.data() + image * pixels * cp.c, cp.c, gated,
                       y.data() + image * pixels * cp.k, cp.k, image_e);
  }
  return y;
}

// Whether conv2d_nhwc_pointwise_gated_run pays for a 1×1 conv: scaling its weights (C × K per
// image) against scaling its input (H·W × C per image).
inline bool conv2d_nhwc_gating_pays(const Conv2dParams& cp) {
  return cp.h * cp.w >= cp.k;
}

inline Tensor<float> conv2d_nhwc_direct_run(const Conv2dCall& call) {
  const Conv2dParams& cp = call.params;
  const Conv2dAttrs& a = cp.attrs;
  const auto& b = *static_cast<const PackedMatrixB*>(call.prepared);
  Tensor<float> y = Tensor<float>::uninitialized(cp.output_shape(), Layout::nhwc);
  const int64_t padded_h = cp.h + a.pad_top + a.pad_bottom;
  const int64_t padded_w = cp.w + a.pad_left + a.pad_right;
  const int64_t row_floats = padded_w * cp.c, image = padded_h * row_floats;
  // Padding is materialized once per call, each float written once; an unpadded conv reads its
  // input in place.
  const bool pads = a.pad_top + a.pad_bottom + a.pad_left + a.pad_right > 0;
  AlignedBuffer padded(pads ? cp.n * image : 0);
  if (pads) {
    parallel_for(0, cp.n * padded_h, [&](int64_t row) {
      float* dst = padded.data() + row * row_floats;
      const int64_t n = row / padded_h, ih = row % padded_h - a.pad_top;
      if (ih < 0 || ih >= cp.h) {
        std::fill_n(dst, row_floats, 0.0f);
        return;
      }
      const float* src = call.x.data() + (n * cp.h + ih) * cp.w * cp.c;
      dst = std::fill_n(dst, a.pad_left * cp.c, 0.0f);
      dst = std::copy(src, src + cp.w * cp.c, dst);
      std::fill_n(dst, a.pad_right * cp.c, 0.0f);
    });
  }
  const float* input = pads ? padded.data() : call.x.data();
  // The taps' offsets, on the stack for kernels up to 16×16 so that a forward allocates nothing.
  constexpr int64_t kStackTaps = 256;
  int64_t stack_offsets[kStackTaps];
  std::vector<int64_t> heap_offsets(cp.r * cp.s > kStackTaps ? cp.r * cp.s : 0);
  int64_t* const offsets = heap_offsets.empty() ? stack_offsets : heap_offsets.data();
  for (int64_t r = 0; r < cp.r; ++r)
    for (int64_t s = 0; s < cp.s; ++s)
      offsets[r * cp.s + s] = (r * a.dilation_h * padded_w + s * a.dilation_w) * cp.c;
  const GemmEpilogue e = detail::nhwc_epilogue(call);
  // A task is one column panel (kGemmNr output channels) over a chunk of output rows, panel
  // outside, rows inside: the panel's weights (taps·C·kGemmNr floats, 590 KB for ResNet-50's
  // 512-channel 3×3) stay in L2 across the chunk's rows. With rows outside, every output row
  // streamed all the weights from memory again: seven times per 7×7 layer, which ran at a third
  // of the FMA peak. A chunk's input rows fit in half of L2, so that a thread taking the next
  // panel of the same chunk finds them there; chunks are also cut small enough to give every
  // thread a few tasks when there are few panels.
  const int64_t panels = (cp.k + kGemmNr - 1) / kGemmNr, rows = cp.n * cp.p;
  const int64_t input_bytes_per_row = int64_t{sizeof(float)} * a.stride_h * row_floats;
  const int64_t rows_in_l2 = std::max<int64_t>(1, kGemmL2Bytes / 2 / input_bytes_per_row);
  const int64_t chunks_for_threads = (4 * threads_available() + panels - 1) / panels;
  const int64_t chunk_rows =
      std::min(rows_in_l2, (rows + chunks_for_threads - 1) / chunks_for_threads);
  const int64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
  const int64_t taps = cp.r * cp.s, block_channels = detail::nhwc_direct_block_channels(cp);
  const int64_t whole_tiles = gemm_rows_whole_tiles(cp.q);  // per output row
  // Output rows [row_begin, row_end) × the kGemmNr channels from j0.
  const auto run_rows = [&](int64_t row_begin, int64_t row_end, int64_t j0) {
    const int64_t cols = std::min<int64_t>(kGemmNr, cp.k - j0);
    for (int64_t c0 = 0; c0 < cp.c; c0 += block_channels) {
      const int64_t kc = std::min(block_channels, cp.c - c0);
      const bool first = c0 == 0, last = c0 + kc == cp.c;
      const float* panel = b.panel(c0 * taps, j0);
      for (int64_t row = row_begin; row < row_end; ++row) {
        const int64_t n = row / cp.p, op = row % cp.p;
        const float* x_row = input + n * image + op * a.stride_h * row_floats + c0;
        const int64_t y_row = row * cp.q * cp.k;
        const detail::TileEpilogue row_tile{
            nullptr, e.col_bias != nullptr ? e.col_bias + j0 : nullptr,
            e.residual != nullptr ? e.residual + y_row + j0 : nullptr, e.ld_residual, e.act};
        gemm_rows_in_place_row_tiles(x_row, a.stride_w * cp.c, offsets, taps, kc, panel,
                                     y.data() + y_row + j0, cp.k, first, cols, whole_tiles,
                                     last ? &row_tile : nullptr);
        for (int64_t q0 = whole_tiles * kGemmMr, pixels = 0; q0 < cp.q; q0 += pixels) {
          pixels = gemm_rows_next_tile(cp.q - q0);
          const int64_t at = y_row + q0 * cp.k + j0;
          const detail::TileEpilogue tile{
              nullptr, e.col_bias != nullptr ? e.col_bias + j0 : nullptr,
              e.residual != nullptr ? e.residual + at : nullptr, e.ld_residual, e.act};
          gemm_rows_in_place_tile(pixels, cols)(x_row + q0 * a.stride_w * cp.c, a.stride_w * cp.c,
                                                offsets, taps, kc, panel, y.data() + at, cp.k,
                                                first, cols, last ? &tile : nullptr);
        }
      }
    }
  };
  // Small weights (the 3-channel stems: 3.5 KB for MobileNetV2's) do not need the panel
  // outside: each thread then takes one contiguous stretch of rows, row by row with every
  // panel, as the layers after it split the rows, so that they find their input in their own
  // core's cache.
  const int64_t weight_bytes = int64_t{sizeof(float)} * taps * cp.c * cp.k;
  if (weight_bytes <= kGemmL2Bytes / 8 && rows >= 4 * int64_t{threads_available()}) {
    parallel_for_parts(0, rows, [&](int64_t row_begin, int64_t row_end) {
      for (int64_t row = row_begin; row < row_end; ++row)
        for (int64_t j0 = 0; j0 < cp.k; j0 += kGemmNr)
          run_rows(row, row + 1, j0);
    });
    return y;
  }
  parallel_for(0, chunks * panels, [&](int64_t task) {
    const int64_t row_begin = (task / panels) * chunk_rows;
    run_rows(row_begin, std::min(rows, row_begin + chunk_rows), (task % panels) * kGemmNr);
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
