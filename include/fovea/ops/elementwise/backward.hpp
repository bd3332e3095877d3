// Gradients of the shape-only and additive ops. add: each operand receives dL/dy summed over
// the dimensions broadcasting stretched it along. flatten: the gradient reshaped back.
#pragma once

#include "fovea/core/tensor.hpp"
#include "fovea/ops/elementwise/indexing.hpp"
#include "fovea/ops/elementwise/params.hpp"

namespace fovea {

// dL/d(operand) for y = a + b, where the operand has shape `operand`.
template <class T>
Tensor<T> add_backward_reference(const Shape& operand, const Tensor<T>& grad_y) {
  using Acc = typename AccumulatorOf<T>::type;
  Tensor<Acc> sum(operand);
  detail::for_each_index(grad_y.shape(), [&](const detail::Index& i) {
    detail::element(sum, broadcast_source_index(i, grad_y.rank(), operand)) +=
        convert<Acc>(detail::element(grad_y, i));
  });
  return sum.template cast<T>();
}

// dL/dx for y = flatten(x): the same values in x's (C, H, W) order.
template <class T>
Tensor<T> flatten_backward(const Shape& input, const Tensor<T>& grad_y) {
  return grad_y.reshape(input);
}

}  // namespace fovea
