// Linear gradients for y = x · Wᵀ + b, x [N, in], W [out, in]:
//   dx = dy · W,  dW = dyᵀ · x,  db = column sums of dy.
// linear_backward_reference is the loop oracle; linear_backward runs the same products on the
// packed CPU GEMM.
#pragma once

#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/gemm.hpp"
#include "fovea/ops/linear/params.hpp"

namespace fovea {

template <class T>
struct LinearGradients {
  Tensor<T> input, weight, bias;  // bias is empty when the layer has none
};

namespace detail {

template <class T>
void check_linear_backward(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& grad_y) {
  FOVEA_CHECK(x.rank() == 2 && weight.rank() == 2 && x.dim(1) == weight.dim(1),
              "linear backward: input ", x.shape(), " does not match weight ", weight.shape());
  FOVEA_CHECK(grad_y.shape() == Shape({x.dim(0), weight.dim(0)}), "linear backward: gradient ",
              grad_y.shape(), " should be [", x.dim(0), ", ", weight.dim(0), "]");
}

}  // namespace detail

template <class T>
LinearGradients<T> linear_backward_reference(const Tensor<T>& x, const Tensor<T>& weight,
                                             const Tensor<T>& grad_y, bool has_bias) {
  using Acc = typename AccumulatorOf<T>::type;
  detail::check_linear_backward(x, weight, grad_y);
  const int64_t n = x.dim(0), in = x.dim(1), out = weight.dim(0);
  LinearGradients<T> g{Tensor<T>(x.shape()), Tensor<T>(weight.shape()), Tensor<T>()};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < in; ++j) {
      Acc sum(0);
      for (int64_t o = 0; o < out; ++o)
        sum += convert<Acc>(grad_y(i, o)) * convert<Acc>(weight(o, j));
      g.input(i, j) = convert<T>(sum);
    }
  }
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t j = 0; j < in; ++j) {
      Acc sum(0);
      for (int64_t i = 0; i < n; ++i)
        sum += convert<Acc>(grad_y(i, o)) * convert<Acc>(x(i, j));
      g.weight(o, j) = convert<T>(sum);
    }
  }
  if (has_bias) {
    g.bias = Tensor<T>(Shape{out});
    for (int64_t o = 0; o < out; ++o) {
      Acc sum(0);
      for (int64_t i = 0; i < n; ++i)
        sum += convert<Acc>(grad_y(i, o));
      g.bias(o) = convert<T>(sum);
    }
  }
  return g;
}

// The same gradients in float through the packed GEMM (row-major x, weight and grad_y).
inline LinearGradients<float> linear_backward(const Tensor<float>& x, const Tensor<float>& weight,
                                              const Tensor<float>& grad_y, bool has_bias) {
  detail::check_linear_backward(x, weight, grad_y);
  const int64_t n = x.dim(0), in = x.dim(1), out = weight.dim(0);
  LinearGradients<float> g{Tensor<float>(x.shape()), Tensor<float>(weight.shape()),
                           Tensor<float>()};
  cpu::gemm(n, in, out, grad_y.data(), out, weight.data(), in, g.input.data(), in);
  // dyᵀ read in place: element (o, i) of dyᵀ is grad_y[i * out + o].
  const cpu::PackedMatrixA grad_y_t(out, n, grad_y.data(), 1, out);
  cpu::gemm_packed_a(grad_y_t, in, x.data(), in, 1, g.weight.data(), in, {});
  if (has_bias) {
    g.bias = Tensor<float>(Shape{out});
    std::vector<double> sums(static_cast<size_t>(out), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t o = 0; o < out; ++o)
        sums[static_cast<size_t>(o)] += grad_y.data()[i * out + o];
    for (int64_t o = 0; o < out; ++o)
      g.bias(o) = static_cast<float>(sums[static_cast<size_t>(o)]);
  }
  return g;
}

}  // namespace fovea
