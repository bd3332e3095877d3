// Reference 2-D convolution: direct loops over the definition, accumulating in a wider type
// (double for floating point). It is the oracle every other conv kernel is tested against, so it
// stays simple and is never optimized. Works for either layout: it addresses memory through the
// tensors' strides, and the output takes the input's layout.
#pragma once

#include "fovea/core/tensor.hpp"
#include "fovea/ops/conv2d/params.hpp"

namespace fovea {

// y[n, k, p, q] = bias[k] + sum over (c in k's group, r, s) of
//                 x[n, c, p*stride - pad + r*dilation, q*stride - pad + s*dilation] * w[k, c', r,
//                 s]
// where positions outside the input read as zero. `bias` may be empty.
template <class T>
Tensor<T> conv2d_reference(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias,
                           const Conv2dAttrs& attrs) {
  using Acc = typename AccumulatorOf<T>::type;
  const Conv2dParams cp = Conv2dParams::make(x.shape(), weight.shape(), attrs);
  FOVEA_CHECK(bias.empty() || bias.shape() == Shape{cp.k}, "conv2d bias must be [", cp.k, "], got ",
              bias.shape());
  FOVEA_CHECK(weight.layout() == Layout::nchw, "conv2d weight must be stored (K, C, R, S)");
  Tensor<T> y(cp.output_shape(), x.layout());
  const Conv2dAttrs& a = cp.attrs;
  for (int64_t n = 0; n < cp.n; ++n) {
    for (int64_t k = 0; k < cp.k; ++k) {
      const int64_t first_c = (k / cp.k_per_group()) * cp.c_per_group();
      for (int64_t op = 0; op < cp.p; ++op) {
        for (int64_t oq = 0; oq < cp.q; ++oq) {
          Acc sum = bias.empty() ? Acc(0) : convert<Acc>(bias(k));
          for (int64_t ci = 0; ci < cp.c_per_group(); ++ci) {
            for (int64_t r = 0; r < cp.r; ++r) {
              const int64_t ih = op * a.stride_h - a.pad_top + r * a.dilation_h;
              if (ih < 0 || ih >= cp.h) continue;
              for (int64_t s = 0; s < cp.s; ++s) {
                const int64_t iw = oq * a.stride_w - a.pad_left + s * a.dilation_w;
                if (iw < 0 || iw >= cp.w) continue;
                sum += convert<Acc>(x(n, first_c + ci, ih, iw)) * convert<Acc>(weight(k, ci, r, s));
              }
            }
          }
          y(n, k, op, oq) = convert<T>(sum);
        }
      }
    }
  }
  return y;
}

}  // namespace fovea
