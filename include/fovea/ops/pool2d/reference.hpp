// Reference 2-D pooling: max, average, adaptive average and global average, as direct loops
// over torch's definitions. Inputs are (N, C, H, W) in either layout; outputs take the input's
// layout. Averages accumulate in double for floating point.
#pragma once

#include <algorithm>
#include <cmath>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/pool2d/params.hpp"

namespace fovea {

// y[n, c, p, q] = max of x over the window rows p*stride - pad_top + [0, kernel_h) and likewise
// for columns, clipped to the input (padding never wins). A NaN in the window gives NaN, as in
// torch.
template <class T>
Tensor<T> max_pool2d_reference(const Tensor<T>& x, const Pool2dAttrs& attrs) {
  const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, "max_pool2d");
  const Pool2dAttrs& a = pp.attrs;
  Tensor<T> y(pp.output_shape(), x.layout());
  for (int64_t n = 0; n < pp.n; ++n) {
    for (int64_t c = 0; c < pp.c; ++c) {
      for (int64_t op = 0; op < pp.p; ++op) {
        const int64_t h0 = std::max<int64_t>(op * a.stride_h - a.pad_top, 0);
        const int64_t h1 = std::min(op * a.stride_h - a.pad_top + a.kernel_h, pp.h);
        for (int64_t oq = 0; oq < pp.q; ++oq) {
          const int64_t w0 = std::max<int64_t>(oq * a.stride_w - a.pad_left, 0);
          const int64_t w1 = std::min(oq * a.stride_w - a.pad_left + a.kernel_w, pp.w);
          T best = x(n, c, h0, w0);
          for (int64_t ih = h0; ih < h1; ++ih) {
            for (int64_t iw = w0; iw < w1; ++iw) {
              const T v = x(n, c, ih, iw);
              if (convert<double>(v) > convert<double>(best) || std::isnan(convert<double>(v)))
                best = v;
            }
          }
          y(n, c, op, oq) = best;
        }
      }
    }
  }
  return y;
}

// y[n, c, p, q] = sum of x over the window clipped to the input, divided by
//   count_include_pad: the window clipped to the padded input (input plus padding), so a
//                      ceil-mode window running past the right padding is not counted there;
//   otherwise:         the number of input elements in the window.
// This is torch's avg_pool2d, divisor for divisor.
template <class T>
Tensor<T> avg_pool2d_reference(const Tensor<T>& x, const Pool2dAttrs& attrs) {
  using Acc = typename AccumulatorOf<T>::type;
  const Pool2dParams pp = Pool2dParams::make(x.shape(), attrs, "avg_pool2d");
  const Pool2dAttrs& a = pp.attrs;
  Tensor<T> y(pp.output_shape(), x.layout());
  for (int64_t n = 0; n < pp.n; ++n) {
    for (int64_t c = 0; c < pp.c; ++c) {
      for (int64_t op = 0; op < pp.p; ++op) {
        const int64_t start_h = op * a.stride_h - a.pad_top;
        const int64_t end_h = std::min(start_h + a.kernel_h, pp.h + a.pad_bottom);
        const int64_t h0 = std::max<int64_t>(start_h, 0), h1 = std::min(end_h, pp.h);
        for (int64_t oq = 0; oq < pp.q; ++oq) {
          const int64_t start_w = oq * a.stride_w - a.pad_left;
          const int64_t end_w = std::min(start_w + a.kernel_w, pp.w + a.pad_right);
          const int64_t w0 = std::max<int64_t>(start_w, 0), w1 = std::min(end_w, pp.w);
          Acc sum(0);
          for (int64_t ih = h0; ih < h1; ++ih) {
            for (int64_t iw = w0; iw < w1; ++iw)
              sum += convert<Acc>(x(n, c, ih, iw));
          }
          const int64_t count =
              a.count_include_pad ? (end_h - start_h) * (end_w - start_w) : (h1 - h0) * (w1 - w0);
          y(n, c, op, oq) = convert<T>(sum / Acc(count));
        }
      }
    }
  }
  return y;
}

// torch's adaptive_avg_pool2d: output cell i averages input rows [floor(i*H/P), ceil((i+1)*H/P))
// and likewise for columns, so windows may overlap when P does not divide H.
template <class T>
Tensor<T> adaptive_avg_pool2d_reference(const Tensor<T>& x, int64_t out_h, int64_t out_w) {
  using Acc = typename AccumulatorOf<T>::type;
  FOVEA_CHECK(x.rank() == 4, "adaptive_avg_pool2d input must be (N, C, H, W), got ", x.shape());
  FOVEA_CHECK(out_h > 0 && out_w > 0, "adaptive_avg_pool2d output size must be positive, got ",
              out_h, "x", out_w);
  const int64_t h = x.dim(2), w = x.dim(3);
  FOVEA_CHECK(h > 0 && w > 0, "adaptive_avg_pool2d input must have a non-empty image, got ",
              x.shape());
  Tensor<T> y(Shape{x.dim(0), x.dim(1), out_h, out_w}, x.layout());
  for (int64_t n = 0; n < x.dim(0); ++n) {
    for (int64_t c = 0; c < x.dim(1); ++c) {
      for (int64_t op = 0; op < out_h; ++op) {
        const int64_t h0 = op * h / out_h, h1 = ((op + 1) * h + out_h - 1) / out_h;
        for (int64_t oq = 0; oq < out_w; ++oq) {
          const int64_t w0 = oq * w / out_w, w1 = ((oq + 1) * w + out_w - 1) / out_w;
          Acc sum(0);
          for (int64_t ih = h0; ih < h1; ++ih) {
            for (int64_t iw = w0; iw < w1; ++iw)
              sum += convert<Acc>(x(n, c, ih, iw));
          }
          y(n, c, op, oq) = convert<T>(sum / Acc((h1 - h0) * (w1 - w0)));
        }
      }
    }
  }
  return y;
}

// Mean over each whole image: (N, C, H, W) -> (N, C, 1, 1).
template <class T>
Tensor<T> global_avg_pool2d_reference(const Tensor<T>& x) {
  return adaptive_avg_pool2d_reference(x, 1, 1);
}

// Max over each whole image: (N, C, H, W) -> (N, C, 1, 1).
template <class T>
Tensor<T> global_max_pool2d_reference(const Tensor<T>& x) {
  FOVEA_CHECK(x.rank() == 4, "global_max_pool2d input must be (N, C, H, W), got ", x.shape());
  Pool2dAttrs a;
  a.kernel_h = a.stride_h = x.dim(2);
  a.kernel_w = a.stride_w = x.dim(3);
  return max_pool2d_reference(x, a);
}

}  // namespace fovea
