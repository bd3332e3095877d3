// The INT8 ops around the convs, on NHWC activations: residual add, pools, lookup tables,
// squeeze-excitation's channel scale, and the conversions to and from float. Each is the
// reference's arithmetic (quant/scheme.hpp's functions, element for element) in loops over
// contiguous channels that threads split, so they give the reference's bits.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/pool2d/params.hpp"
#include "fovea/quant/qtensor.hpp"

namespace fovea::cpu {

// Contiguous stretches of [0, count) for the threads, at least `grain` elements each.
inline void parallel_stretches(int64_t count, int64_t grain,
                               const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads_available(), count / grain));
  parallel_for_parts(0, parts,
                     [&](int64_t p0, int64_t p1) { fn(count * p0 / parts, count * p1 / parts); });
}

// y = requantize((a − zp_a) · ma + (b − zp_b) · mb) with clamp bounds; a, b, y of `count`
// elements in the same order.
inline void qadd_run(const quant::QTensor& a, const quant::QTensor& b, quant::QTensor& y,
                     quant::ClampBounds bounds) {
  const float ma = quant::multiplier(a.params.scale, y.params.scale);
  const float mb = quant::multiplier(b.params.scale, y.params.scale);
  const uint8_t* pa = a.q.data();
  const uint8_t* pb = b.q.data();
  uint8_t* py = y.q.data();
  parallel_stretches(a.q.numel(), 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float addend = quant::residual_addend(pb[i], b.params.zero_point, mb);
      py[i] =
          quant::requantize(pa[i] - a.params.zero_point, ma, addend, y.params.zero_point, bounds);
    }
  });
}

// Max pooling, one output row of every image per task; channels innermost.
inline void qmax_pool_nhwc_run(const quant::QTensor& x, const Pool2dParams& pp, quant::QTensor& y) {
  const Pool2dAttrs& a = pp.attrs;
  const int64_t c = pp.c;
  parallel_for(0, pp.n * pp.p, [&](int64_t image_row) {
    const int64_t n = image_row / pp.p, op = image_row % pp.p;
    const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
    const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
    for (int64_t oq = 0; oq < pp.q; ++oq) {
      const int64_t w0 = std::max<int64_t>(oq * a.stride_w - a.pad_left, 0);
      const int64_t w1 = std::min(oq * a.stride_w - a.pad_left + a.kernel_w, pp.w);
      uint8_t* out = y.q.data() + ((n * pp.p + op) * pp.q + oq) * c;
      std::fill(out, out + c, uint8_t{0});
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const uint8_t* in = x.q.data() + ((n * pp.h + ih) * pp.w + iw) * c;
          for (int64_t i = 0; i < c; ++i)
            out[i] = std::max(out[i], in[i]);
        }
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
      const uint8_t* in = x.q.data() + p * c;
      uint8_t* out = y.q.data() + p * c;
      const float* mp = m.data() + p / pixels * c;
      for (int64_t i = 0; i < c; ++i)
        out[i] = quant::requantize(in[i] - x.params.zero_point, mp[i], 0.0f, y.params.zero_point,
                                   quant::ClampBounds{});
    }
  });
}

// Float (N, C, H, W) in either layout → u8 NHWC.
inline void quantize_nhwc_run(const Tensor<float>& x, quant::QTensor& y) {
  const int64_t c = x.dim(1), h = x.dim(2), w = x.dim(3);
  parallel_for(0, x.dim(0) * h, [&](int64_t image_row) {
    const int64_t n = image_row / h, ih = image_row % h;
    uint8_t* out = y.q.data() + image_row * w * c;
    for (int64_t iw = 0; iw < w; ++iw)
      for (int64_t ic = 0; ic < c; ++ic)
        out[iw * c + ic] = quant::quantize_value(x(n, ic, ih, iw), y.params);
  });
}

}  // namespace fovea::cpu
