// A 1×1 expansion and the depthwise conv after it in one pass, in NHWC: MobileNetV2's and
// EfficientNet's blocks start act(depthwise(act(pointwise(x)))); and optionally the 1×1
// projection after them too (MobileNetV2's whole block; EfficientNet's has squeeze-excitation,
// which needs the whole image, before it). A block without expansion (MobileNetV2's first,
// depthwise then projection) runs the same pass with the depthwise conv reading the input.
//
// Run as two convs, the expansion writes its whole output (96 × 112 × 112 floats, 4.8 MB, in
// MobileNetV2's second block) and the depthwise conv reads it back, both from memory: those
// layers ran at memory speed, not FMA speed. So does a depthwise conv's output on its way to
// the projection (32 × 112 × 112 floats in MobileNetV2's first block). Here each task walks down a
// range of output rows in bands: it expands just the input rows a band's depthwise rows read, into
// a window that stays in L2, then runs the depthwise rows from it. The rows two bands share are
// kept (moved to the window's front), never expanded twice. Several threads on one image take a
// range of its hidden channels each; with a projection, which needs all of a pixel's hidden
// channels, a range of rows each, and the rows where ranges meet are expanded twice.
//
// The arithmetic is the separate kernels' own, per output element in the same order, so the
// result is the unfused path's to the bit (gemm_rows_in_place and depthwise_nhwc_row).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/aligned_buffer.hpp"
#include "fovea/cpu/conv2d_depthwise_nhwc.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/cpu/gemm_rows_in_place.hpp"
#include "fovea/cpu/thread_pool.hpp"

namespace fovea::cpu {
inline namespace FOVEA_CPU_ISA {

struct ExpandDepthwiseNhwc {
  // conv2d_nhwc_pointwise_prepare's packing, [C_in, C_hidden]; or null: no expansion, the
  // depthwise conv reads the input (C_in = C_hidden), and a projection must follow.
  const PackedMatrixB* expand;
  const float* expand_bias;  // or null
  ActivationKind expand_act;
  const Conv2dParams& depthwise;  // its input: the expansion's output
  const DepthwiseNhwcWeights& depthwise_weights;
  const float* depthwise_bias;  // or null
  ActivationKind depthwise_act;
  // What a thread's window of expanded rows (and, with a projection, its band of depthwise
  // rows) may hold; at least one output row's worth is used whatever it says. Half of L2, so
  // the band's input and output share it.
  int64_t window_bytes = kGemmL2Bytes / 2;
};

// An optional third stage: the block's 1×1 projection of the depthwise rows, run on each band
// as it is made, with its bias, activation and residual (NHWC, the output's shape).
struct ProjectNhwc {
  const PackedMatrixB& weights;  // conv2d_nhwc_pointwise_prepare's packing: [C_hidden, C_out]
  const float* bias;             // or null
  ActivationKind act;
  const float* residual;  // or null
};

namespace detail {

// How many parts the pass cuts each image of a batch into: one per thread, at most one per
// output row.
inline int64_t expand_depthwise_nhwc_splits(const Conv2dParams& depthwise) {
  const int64_t threads = threads_available();
  return std::min<int64_t>(depthwise.p, (threads + depthwise.n - 1) / depthwise.n);
}

// Whether the parts may be ranges of rows: each part with an expansion expands again the
// span − stride rows it shares with the next (two threads on a 7×7 image expand 9 rows for 7),
// and that is allowed while at most a tenth of the rows are doubled.
inline bool expand_depthwise_nhwc_rows_split(const Conv2dParams& depthwise) {
  const int64_t splits = expand_depthwise_nhwc_splits(depthwise);
  const Conv2dAttrs& a = depthwise.attrs;
  const int64_t span = (depthwise.r - 1) * a.dilation_h + 1;
  const int64_t doubled = (splits - 1) * std::max<int64_t>(0, span - a.stride_h);
  return doubled * 10 <= depthwise.h;
}

}  // namespace detail

// Whether one pass beats the separate convs for this depthwise conv, with or without a
// projection after it. With one, which needs all of a pixel's hidden channels, the parts must be
// ranges of rows: on a 7×7 image the three separate convs ran 13 % faster (MobileNetV2's last
// blocks, AVX2); on 28×28 (7 % more rows) the pass was 5 % faster. Without one, parts that may
// not be rows are ranges of hidden channels, and nothing is done twice. (Without an expansion
// nothing is ever done twice: that pass always pays.)
inline bool expand_depthwise_nhwc_pays(const Conv2dParams& depthwise, bool projects) {
  return !projects || detail::expand_depthwise_nhwc_splits(depthwise) <= 1 ||
         detail::expand_depthwise_nhwc_rows_split(depthwise);
}

namespace detail {

inline Tensor<float> expand_depthwise_nhwc(const Tensor<float>& x, const ExpandDepthwiseNhwc& f,
                                           const ProjectNhwc* project) {
  const Conv2dParams& cp = f.depthwise;
  const Conv2dAttrs& a = cp.attrs;
  const int64_t in_channels = x.dim(1), hidden = cp.c;
  const bool expands = f.expand != nullptr;
  FOVEA_CHECK(expands || project != nullptr,
              "expand_depthwise_nhwc: without an expansion a projection must follow");
  const int64_t expand_rows = expands ? f.expand->rows() : hidden;
  const int64_t expand_cols = expands ? f.expand->cols() : hidden;
  FOVEA_CHECK(x.layout() == Layout::nhwc && x.dim(0) == cp.n && x.dim(2) == cp.h &&
                  x.dim(3) == cp.w && expand_rows == in_channels && expand_cols == hidden,
              "expand_depthwise_nhwc: input ", x.shape(), " does not fit the expansion [",
              expand_rows, ", ", expand_cols, "] and depthwise input ", cp.n, "x", cp.c, "x", cp.h,
              "x", cp.w);
  FOVEA_CHECK(project == nullptr || project->weights.rows() == hidden,
              "expand_depthwise_nhwc: the projection takes ", project->weights.rows(),
              " channels, the depthwise conv gives ", hidden);
  const int64_t out_channels = project != nullptr ? project->weights.cols() : hidden;
  Tensor<float> y =
      Tensor<float>::uninitialized(Shape{cp.n, out_channels, cp.p, cp.q}, Layout::nhwc);
  const int64_t row_floats = cp.w * hidden;  // an expanded row (or an input row)
  const int64_t window_row_floats = expands ? row_floats : 0;
  const int64_t band_row_floats = project != nullptr ? cp.q * hidden : 0;  // a depthwise row kept
  const int64_t span = (cp.r - 1) * a.dilation_h + 1;  // input rows one output row reads
  // Output rows per band: as many as fit window_bytes, at least one. A band of b rows reads
  // (b - 1) · stride + span expanded rows.
  const int64_t per_band_row =
      int64_t{sizeof(float)} * (a.stride_h * window_row_floats + band_row_floats);
  const int64_t fixed = int64_t{sizeof(float)} * (span - a.stride_h) * window_row_floats;
  const int64_t band = std::max<int64_t>(1, (f.window_bytes - fixed) / per_band_row);
  const int64_t window_rows = expands ? std::min(cp.h, (band - 1) * a.stride_h + span) : 0;
  // One part of an image per task, each image split so every thread has one. Split by rows,
  // each part with an expansion also expands the rows its band shares with the next
  // (span - stride of them): on a 7×7 image a 5×5 depthwise conv's two halves expanded 11 rows
  // between them instead of 7. Without a projection, where that would double more than a tenth
  // of the rows, the parts are ranges of hidden channels instead, and no row is expanded twice.
  // Rows are preferred where allowed: the projection after the pass (EfficientNet's, behind
  // squeeze-excitation) splits its pixels by rows, and after a channel split each thread's rows
  // have half their channels in the other core's cache. With rows where allowed, EfficientNet-B0
  // at two threads took 0.956 of the time; with rows everywhere (7×7 and 14×14 too), 1.06
  // (paired, ab_pair.sh).
  const int threads = threads_available();
  const int64_t splits = expand_depthwise_nhwc_splits(cp);
  const bool split_channels = project == nullptr && splits > 1 && hidden >= splits * kGemmNr &&
                              !expand_depthwise_nhwc_rows_split(cp);
  const int64_t rows_per_split = split_channels ? cp.p : (cp.p + splits - 1) / splits;
  const int64_t panels = (hidden + kGemmNr - 1) / kGemmNr;
  // A window (and band) per thread; a nested loop runs on its caller's thread alone.
  const int64_t per_thread = window_rows * window_row_floats + band * band_row_floats;
  AlignedBuffer scratch(threads * per_thread);
  GemmEpilogue expand_epilogue;
  expand_epilogue.col_bias = f.expand_bias;
  expand_epilogue.act = f.expand_act;
  const DepthwiseNhwcGeometry geometry =
      depthwise_nhwc_geometry(cp, f.depthwise_weights, f.depthwise_bias, f.depthwise_act);
  const DepthwiseNhwcInterior interior = depthwise_nhwc_interior(cp);
  // The projection of a band of `rows` depthwise rows, the first at output pixel first_pixel.
  const auto project_band = [&](const float* band_rows, int64_t rows, int64_t first_pixel) {
    GemmEpilogue e;
    e.col_bias = project->bias;
    e.act = project->act;
    if (project->residual != nullptr) {
      e.residual = project->residual + first_pixel * out_channels;
      e.ld_residual = out_channels;
    }
    gemm_rows_in_place(rows * cp.q, band_rows, hidden, project->weights,
                       y.data() + first_pixel * out_channels, out_channels, e);
  };
  parallel_for(0, cp.n * splits, [&](int64_t task) {
    const int64_t n = task / splits, part = task % splits;
    const int64_t p_begin = split_channels ? 0 : part * rows_per_split;
    const int64_t p_end = std::min(cp.p, p_begin + rows_per_split);
    const int64_t c_begin = split_channels ? panels * part / splits * kGemmNr : 0;
    const int64_t c_end =
        split_channels ? std::min(hidden, panels * (part + 1) / splits * kGemmNr) : hidden;
    const float* image = x.data() + n * cp.h * cp.w * in_channels;
    float* window = scratch.data() + (threads == 1 ? 0 : ThreadPool::thread_index()) * per_thread;
    float* band_rows = window + window_rows * window_row_floats;
    int64_t lo = 0, hi = 0;  // the window holds expanded rows [lo, hi)
    for (int64_t p0 = p_begin; p0 < p_end; p0 += band) {
      const int64_t p1 = std::min(p_end, p0 + band);
      const int64_t first_pixel = (n * cp.p + p0) * cp.q;
      float* depthwise_out = project != nullptr ? band_rows : y.data() + first_pixel * hidden;
      if (!expands) {
        for (int64_t op = p0; op < p1; ++op)
          depthwise_nhwc_row(image, geometry, interior, cp.q, op, c_begin, c_end,
                             depthwise_out + (op - p0) * cp.q * hidden, nullptr);
        project_band(band_rows, p1 - p0, first_pixel);
        continue;
      }
      const int64_t need_lo = std::clamp<int64_t>(p0 * a.stride_h - a.pad_top, 0, cp.h);
      const int64_t need_hi =
          std::clamp<int64_t>((p1 - 1) * a.stride_h - a.pad_top + span, need_lo, cp.h);
      if (need_lo < hi && lo < need_lo) {  // keep the rows this band shares with the last
        std::memmove(window, window + (need_lo - lo) * row_floats,
                     static_cast<size_t>((hi - need_lo) * row_floats) * sizeof(float));
      } else if (need_lo >= hi) {
        hi = need_lo;
      }
      lo = need_lo;
      if (need_hi > hi) {
        gemm_rows_in_place((need_hi - hi) * cp.w, image + hi * cp.w * in_channels, in_channels,
                           *f.expand, window + (hi - lo) * row_floats, hidden, expand_epilogue,
                           c_begin, c_end);
        hi = need_hi;
      }
      // The window as an image of rows [lo, hi): rows above lo read as padding, and none of
      // the band's taps reaches them.
      DepthwiseNhwcGeometry g = geometry;
      g.h = hi - lo;
      g.pad_top = a.pad_top + lo;
      for (int64_t op = p0; op < p1; ++op)
        depthwise_nhwc_row(window, g, interior, cp.q, op, c_begin, c_end,
                           depthwise_out + (op - p0) * cp.q * hidden, nullptr);
      if (project != nullptr) project_band(band_rows, p1 - p0, first_pixel);
    }
  });
  return y;
}

}  // namespace detail

inline Tensor<float> expand_depthwise_nhwc(const Tensor<float>& x, const ExpandDepthwiseNhwc& f) {
  return detail::expand_depthwise_nhwc(x, f, nullptr);
}

// The same, each band then projected: MobileNetV2's whole inverted residual block in one pass.
inline Tensor<float> expand_depthwise_project_nhwc(const Tensor<float>& x,
                                                   const ExpandDepthwiseNhwc& f,
                                                   const ProjectNhwc& project) {
  return detail::expand_depthwise_nhwc(x, f, &project);
}

}  // namespace FOVEA_CPU_ISA
}  // namespace fovea::cpu
