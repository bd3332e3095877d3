// Activation gradients: dL/dx = dL/dy * activate'(x), with torch's choice at the kinks (ReLU's
// derivative at 0 is 0; ReLU6 and Hardsigmoid pass the gradient only strictly inside their
// linear range; Hardswish's is x/3 + 1/2 on [-3, 3]).
#pragma once

#include <algorithm>
#include <cmath>

#include "fovea/core/tensor.hpp"
#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/activation/params.hpp"

namespace fovea {

template <class T>
T activation_derivative(ActivationKind kind, T x) {
  const auto sigmoid = [](T v) { return T(1) / (T(1) + std::exp(-v)); };
  switch (kind) {
    case ActivationKind::identity:
      return T(1);
    case ActivationKind::relu:
      return x > T(0) ? T(1) : T(0);
    case ActivationKind::relu6:
      return x > T(0) && x < T(6) ? T(1) : T(0);
    case ActivationKind::silu: {
      const T s = sigmoid(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case ActivationKind::sigmoid: {
      const T s = sigmoid(x);
      return s * (T(1) - s);
    }
    case ActivationKind::tanh: {
      const T t = std::tanh(x);
      return T(1) - t * t;
    }
    case ActivationKind::hardswish:
      return x < T(-3) ? T(0) : (x <= T(3) ? x / T(3) + T(0.5) : T(1));
    case ActivationKind::hardsigmoid:
      return x > T(-3) && x < T(3) ? T(1) / T(6) : T(0);
  }
  fail("activation_derivative: unknown ActivationKind ", static_cast<int>(kind));
}

// dL/dx for y = activation(x). For ReLU, x may be the forward's output instead of its input:
// y > 0 exactly where x > 0.
template <class T>
Tensor<T> activation_backward_reference(const Tensor<T>& x, const Tensor<T>& grad_y,
                                        ActivationKind kind) {
  using Acc = typename AccumulatorOf<T>::type;
  FOVEA_CHECK(x.shape() == grad_y.shape(), "activation backward: gradient ", grad_y.shape(),
              " does not match the input ", x.shape());
  Tensor<T> grad_x(x.shape(), x.layout());
  const Tensor<T> g = grad_y.layout() == x.layout() ? grad_y : grad_y.to_layout(x.layout());
  for (int64_t i = 0; i < x.numel(); ++i) {
    grad_x[i] = convert<T>(convert<Acc>(g[i]) * activation_derivative(kind, convert<Acc>(x[i])));
  }
  return grad_x;
}

// The float entry point: ReLU (the training hot path) as a vectorizable multiply by 0 or 1 —
// the reference's bits, zero signs included — in parallel chunks; other kinds and mixed layouts
// go to the reference.
inline Tensor<float> activation_backward(const Tensor<float>& x, const Tensor<float>& grad_y,
                                         ActivationKind kind) {
  if (kind != ActivationKind::relu || x.layout() != grad_y.layout())
    return activation_backward_reference(x, grad_y, kind);
  FOVEA_CHECK(x.shape() == grad_y.shape(), "activation backward: gradient ", grad_y.shape(),
              " does not match the input ", x.shape());
  Tensor<float> grad_x(x.shape(), x.layout());
  constexpr int64_t kChunk = int64_t(1) << 16;
  const int64_t count = x.numel();
  parallel_for(0, (count + kChunk - 1) / kChunk, [&](int64_t chunk) {
    const int64_t begin = chunk * kChunk, end = std::min(count, begin + kChunk);
    const float *xs = x.data(), *g = grad_y.data();
    float* dx = grad_x.data();
    for (int64_t i = begin; i < end; ++i)
      dx[i] = g[i] * (xs[i] > 0.0f ? 1.0f : 0.0f);
  });
  return grad_x;
}

}  // namespace fovea
