// ONNX MaxPool and AveragePool on (N, C, H, W) for the attribute combinations fovea's pool2d
// (which follows torch) does not take: dilations, and padding wider than half the kernel.
// Plain loops over the ONNX definition; the output size is pool_output_size's, so both paths
// agree on ceil_mode (a last window that would start in the end padding is dropped).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/pool2d/params.hpp"

namespace fovea::graph {

struct PoolWindow {
  int64_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
  int64_t pad_top, pad_left, pad_bottom, pad_right;
  bool ceil_mode, count_include_pad;
};

// Max (is_max) or average of x over each dilated window. Window taps outside the input are
// skipped; for the average they count towards the divisor when count_include_pad and they lie
// in the padded input.
inline Tensor<float> onnx_pool(const Tensor<float>& x, const PoolWindow& a, bool is_max) {
  FOVEA_CHECK(x.rank() == 4, "pool input must be (N, C, H, W), got ", x.shape());
  const int64_t h = x.dim(2), w = x.dim(3);
  const int64_t span_h = (a.kernel_h - 1) * a.dilation_h + 1;
  const int64_t span_w = (a.kernel_w - 1) * a.dilation_w + 1;
  const int64_t p = pool_output_size(h, span_h, a.stride_h, a.pad_top, a.pad_bottom, a.ceil_mode);
  const int64_t q = pool_output_size(w, span_w, a.stride_w, a.pad_left, a.pad_right, a.ceil_mode);
  FOVEA_CHECK(p > 0 && q > 0, "pool window ", span_h, "x", span_w,
              " does not fit the padded input ", h + a.pad_top + a.pad_bottom, "x",
              w + a.pad_left + a.pad_right);
  Tensor<float> y(Shape{x.dim(0), x.dim(1), p, q});
  for (int64_t n = 0; n < x.dim(0); ++n) {
    for (int64_t c = 0; c < x.dim(1); ++c) {
      for (int64_t op = 0; op < p; ++op) {
        for (int64_t oq = 0; oq < q; ++oq) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t valid = 0, padded = 0;
          for (int64_t r = 0; r < a.kernel_h; ++r) {
            const int64_t ih = op * a.stride_h - a.pad_top + r * a.dilation_h;
            for (int64_t s = 0; s < a.kernel_w; ++s) {
              const int64_t iw = oq * a.stride_w - a.pad_left + s * a.dilation_w;
              if (ih < h + a.pad_bottom && iw < w + a.pad_right) ++padded;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              const double v = x(n, c, ih, iw);
              if (v > best || std::isnan(v)) best = v;
              sum += v;
              ++valid;
            }
          }
          double result = best;
          if (!is_max)
            result = sum / double(a.count_include_pad ? padded : std::max<int64_t>(valid, 1));
          y(n, c, op, oq) = static_cast<float>(result);
        }
      }
    }
  }
  return y;
}

}  // namespace fovea::graph
