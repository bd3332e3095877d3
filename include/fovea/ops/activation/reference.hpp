// Reference activations: PyTorch's formulas, evaluated in the accumulator type (double for
// floating point) and rounded once. NaN inputs give NaN, as in torch.
#pragma once

#include <cmath>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/activation/params.hpp"

namespace fovea {

// One value. The comparisons are written so that a NaN falls through to the result unchanged.
template <class T>
T activate(ActivationKind kind, T x) {
  const auto relu6 = [](T v) { return v < T(0) ? T(0) : (v > T(6) ? T(6) : v); };
  const auto sigmoid = [](T v) { return T(1) / (T(1) + std::exp(-v)); };
  switch (kind) {
    case ActivationKind::identity:
      return x;
    case ActivationKind::relu:
      return x < T(0) ? T(0) : x;
    case ActivationKind::relu6:
      return relu6(x);
    case ActivationKind::silu:
      return x * sigmoid(x);
    case ActivationKind::sigmoid:
      return sigmoid(x);
    case ActivationKind::tanh:
      return std::tanh(x);
    case ActivationKind::hardswish:
      return x * relu6(x + T(3)) / T(6);
    case ActivationKind::hardsigmoid:
      return relu6(x + T(3)) / T(6);
  }
  fail("activate: unknown ActivationKind ", static_cast<int>(kind));
}

// y = activate(kind, x) elementwise; y takes x's shape and layout.
template <class T>
Tensor<T> activation_reference(const Tensor<T>& x, ActivationKind kind) {
  using Acc = typename AccumulatorOf<T>::type;
  Tensor<T> y(x.shape(), x.layout());
  // Same shape and layout, so memory order matches element for element.
  for (int64_t i = 0; i < x.numel(); ++i) {
    y[i] = convert<T>(activate(kind, convert<Acc>(x[i])));
  }
  return y;
}

}  // namespace fovea
