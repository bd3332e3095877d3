// Pooling gradients: each output's gradient goes back to the inputs its window read. Max
// pooling sends it to the element the forward picked (the first maximum in row-major window
// order, or a NaN), average pooling spreads it over the window with the forward's divisor.
#pragma once

#include <algorithm>
#include <cmath>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/pool2d/params.hpp"

namespace fovea {

namespace detail {

template <class T>
void check_pool_gradient(const Tensor<T>& grad_y, const Shape& expected, const char* op) {
  FOVEA_CHECK(grad_y.shape() == expected, op, " backward: gradient ", grad_y.shape(),
              " should have the output's shape ", expected);
}

}  // namespace detail

template <class T>
Tensor<T> max_pool2d_backward_reference(const Tensor<T>& x, const Tensor<T>& grad_y,
                                        const Pool2dAttrs& attrs) {
  using Acc = typename AccumulatorOf<T>::type;
  const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, "max_pool2d");
  detail::check_pool_gradient(grad_y, pp.output_shape(), "max_pool2d");
  const Pool2dAttrs& a = pp.attrs;
  Tensor<Acc> dx(x.shape());
  for (int64_t n = 0; n < pp.n; ++n)
    for (int64_t c = 0; c < pp.c; ++c)
      for (int64_t op = 0; op < pp.p; ++op) {
        const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
        const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
        for (int64_t oq = 0; oq < pp.q; ++oq) {
          const int64_t w0 = std::max<int64_t>(oq * a.stride_w - a.pad_left, 0);
          const int64_t w1 = std::min(oq * a.stride_w - a.pad_left + a.kernel_w, pp.w);
          int64_t best_h = h0, best_w = w0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) {
              const double v = convert<double>(x(n, c, ih, iw));
              if (v > convert<double>(x(n, c, best_h, best_w)) || std::isnan(v)) {
                best_h = ih, best_w = iw;
              }
            }
          dx(n, c, best_h, best_w) += convert<Acc>(grad_y(n, c, op, oq));
        }
      }
  return dx.template cast<T>().to_layout(x.layout());
}

// The float entry point for NCHW: the reference's choice of element, a plane per task, the
// gradients summed in float (in the reference's order) where windows overlap. Other layouts go
// to the reference.
inline Tensor<float> max_pool2d_backward(const Tensor<float>& x, const Tensor<float>& grad_y,
                                         const Pool2dAttrs& attrs) {
  if (x.layout() != Layout::nchw || grad_y.layout() != Layout::nchw)
    return max_pool2d_backward_reference(x, grad_y, attrs);
  const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, "max_pool2d");
  detail::check_pool_gradient(grad_y, pp.output_shape(), "max_pool2d");
  const Pool2dAttrs& a = pp.attrs;
  Tensor<float> dx(x.shape());
  parallel_for(0, pp.n * pp.c, [&](int64_t plane) {
    const float* in = x.data() + plane * pp.h * pp.w;
    const float* g = grad_y.data() + plane * pp.p * pp.q;
    float* out = dx.data() + plane * pp.h * pp.w;
    for (int64_t op = 0; op < pp.p; ++op) {
      const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
      const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
      for (int64_t oq = 0; oq < pp.q; ++oq) {
        const int64_t w0 = std::max<int64_t>(oq * a.stride_w - a.pad_left, 0);
        const int64_t w1 = std::min(oq * a.stride_w - a.pad_left + a.kernel_w, pp.w);
        int64_t best = h0 * pp.w + w0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) {
            const float v = in[ih * pp.w + iw];
            if (v > in[best] || std::isnan(v)) best = ih * pp.w + iw;
          }
        out[best] += g[op * pp.q + oq];
      }
    }
  });
  return dx;
}

template <class T>
Tensor<T> avg_pool2d_backward_reference(const Shape& input, const Tensor<T>& grad_y,
                                        const Pool2dAttrs& attrs) {
  using Acc = typename AccumulatorOf<T>::type;
  const Pool2dParams pp = Pool2dParams::make(input, attrs, "avg_pool2d");
  detail::check_pool_gradient(grad_y, pp.output_shape(), "avg_pool2d");
  const Pool2dAttrs& a = pp.attrs;
  Tensor<Acc> dx(input);
  for (int64_t n = 0; n < pp.n; ++n)
    for (int64_t c = 0; c < pp.c; ++c)
      for (int64_t op = 0; op < pp.p; ++op) {
        const int64_t start_h = op * a.stride_h - a.pad_top;
        const int64_t end_h = std::min(start_h + a.kernel_h, pp.h + a.pad_bottom);
        const int64_t h0 = std::max<int64_t>(start_h, 0), h1 = std::min(end_h, pp.h);
        for (int64_t oq = 0; oq < pp.q; ++oq) {
          const int64_t start_w = oq * a.stride_w - a.pad_left;
          const int64_t end_w = std::min(start_w + a.kernel_w, pp.w + a.pad_right);
          const int64_t w0 = std::max<int64_t>(start_w, 0), w1 = std::min(end_w, pp.w);
          const int64_t count =
              a.count_include_pad ? (end_h - start_h) * (end_w - start_w) : (h1 - h0) * (w1 - w0);
          const Acc share = convert<Acc>(grad_y(n, c, op, oq)) / Acc(count);
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw)
              dx(n, c, ih, iw) += share;
        }
      }
  return dx.template cast<T>();
}

template <class T>
Tensor<T> adaptive_avg_pool2d_backward_reference(const Shape& input, const Tensor<T>& grad_y) {
  using Acc = typename AccumulatorOf<T>::type;
  FOVEA_CHECK(input.rank() == 4 && grad_y.rank() == 4 && grad_y.dim(0) == input[0] &&
                  grad_y.dim(1) == input[1],
              "adaptive_avg_pool2d backward: gradient ", grad_y.shape(), " does not fit input ",
              input);
  const int64_t h = input[2], w = input[3], out_h = grad_y.dim(2), out_w = grad_y.dim(3);
  Tensor<Acc> dx(input);
  for (int64_t n = 0; n < input[0]; ++n)
    for (int64_t c = 0; c < input[1]; ++c)
      for (int64_t op = 0; op < out_h; ++op) {
        const int64_t h0 = op * h / out_h, h1 = ((op + 1) * h + out_h - 1) / out_h;
        for (int64_t oq = 0; oq < out_w; ++oq) {
          const int64_t w0 = oq * w / out_w, w1 = ((oq + 1) * w + out_w - 1) / out_w;
          const Acc share = convert<Acc>(grad_y(n, c, op, oq)) / Acc((h1 - h0) * (w1 - w0));
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw)
              dx(n, c, ih, iw) += share;
        }
      }
  return dx.template cast<T>();
}

}  // namespace fovea
