// Ungrouped convolutions in channels-last (NHWC) layout, on gemm_rows_in_place.hpp:
//
//   pointwise: a 1×1 stride-1 unpadded conv is one GEMM over the whole batch,
//              Y[n·h·w, k] = X[n·h·w, c] · Wᵀ[c, k], X read where it lies;
//   direct:    any other ungrouped conv. A register tile is kGemmMr output pixels of one row ×
//              kGemmNr output channels, summed over the taps (r, s): per tap, the same GEMM
//              tile with A's rows at the tap's pixels (row stride = stride_w · C) in a
//              zero-padded copy of the image when the conv pads.
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

// The direct kernel's B: rows (tap (r, s), channel c), columns k, one block (the tile sums all
// taps in registers).
inline std::shared_ptr<const void> conv2d_nhwc_direct_prepare(const Tensor<float>& weight,
                                                              const Conv2dParams& cp) {
  const int64_t taps = cp.r * cp.s, depth = taps * cp.c;
  std::vector<float> rows(static_cast<size_t>(depth * cp.k));
  for (int64_t k = 0; k < cp.k; ++k)
    for (int64_t c = 0; c < cp.c; ++c)
      for (int64_t t = 0; t < taps; ++t)
        rows[static_cast<size_t>((t * cp.c + c) * cp.k + k)] =
            weight.data()[(k * cp.c + c) * taps + t];
  return std::make_shared<PackedMatrixB>(depth, cp.k, rows.data(), cp.k, 1, depth);
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
  std::vector<int64_t> offsets;
  for (int64_t r = 0; r < cp.r; ++r)
    for (int64_t s = 0; s < cp.s; ++s)
      offsets.push_back((r * a.dilation_h * padded_w + s * a.dilation_w) * cp.c);
  const GemmEpilogue e = detail::nhwc_epilogue(call);
  // A task is one output row of one image, and a share of the column panels when there are
  // too few rows to keep the threads busy (7×7 outputs at batch 1).
  const int64_t panels = (cp.k + kGemmNr - 1) / kGemmNr, rows = cp.n * cp.p;
  const int64_t splits = std::min(panels, (4 * threads_available() + rows - 1) / rows);
  const int64_t panels_per_split = (panels + splits - 1) / splits;
  parallel_for(0, rows * splits, [&](int64_t task) {
    const int64_t row = task / splits, n = row / cp.p, op = row % cp.p;
    const int64_t j_begin = (task % splits) * panels_per_split * kGemmNr;
    const int64_t j_end = std::min(cp.k, j_begin + panels_per_split * kGemmNr);
    const float* x_row = input + n * image + op * a.stride_h * row_floats;
    const int64_t y_row = row * cp.q * cp.k;
    for (int64_t q0 = 0, pixels = 0; q0 < cp.q; q0 += pixels) {
      pixels = gemm_rows_next_tile(cp.q - q0);
      for (int64_t j0 = j_begin; j0 < j_end; j0 += kGemmNr) {
        const int64_t cols = std::min<int64_t>(kGemmNr, cp.k - j0);
        const int64_t at = y_row + q0 * cp.k + j0;
        const detail::TileEpilogue tile{nullptr, e.col_bias != nullptr ? e.col_bias + j0 : nullptr,
                                        e.residual != nullptr ? e.residual + at : nullptr,
                                        e.ld_residual, e.act};
        gemm_rows_in_place_tile(pixels, cols)(x_row + q0 * a.stride_w * cp.c, a.stride_w * cp.c,
                                              offsets.data(), static_cast<int64_t>(offsets.size()),
                                              cp.c, b.panel(0, j0), y.data() + at, cp.k, true, cols,
                                              &tile);
      }
    }
  });
  return y;
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
