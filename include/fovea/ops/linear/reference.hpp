// Reference fully connected layer: y = x w^T + b, a plain triple loop accumulating in double for
// floating point. It is the oracle the fast GEMM paths are tested against.
#pragma once

#include "fovea/core/tensor.hpp"
#include "fovea/ops/linear/params.hpp"

namespace fovea {

// y[n, o] = bias[o] + sum over i of x[n, i] * weight[o, i]. `bias` may be empty.
template <class T>
Tensor<T> linear_reference(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
  using Acc = typename AccumulatorOf<T>::type;
  const LinearParams lp = LinearParams::make(x.shape(), weight.shape());
  FOVEA_CHECK(bias.empty() || bias.shape() == Shape{lp.out}, "linear bias must be [", lp.out,
              "], got ", bias.shape());
  Tensor<T> y(lp.output_shape());
  for (int64_t n = 0; n < lp.n; ++n) {
    for (int64_t o = 0; o < lp.out; ++o) {
      Acc sum = bias.empty() ? Acc(0) : convert<Acc>(bias(o));
      for (int64_t i = 0; i < lp.in; ++i)
        sum += convert<Acc>(x(n, i)) * convert<Acc>(weight(o, i));
      y(n, o) = convert<T>(sum);
    }
  }
  return y;
}

}  // namespace fovea
