// Reference elementwise ops: broadcasting add and mul, and concat. Plain loops over logical
// indices, so operands may be NCHW or NHWC. Rank-4 outputs take the layout of the first rank-4
// operand (so x * scale keeps x's layout); other ranks are row-major.
#pragma once

#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/elementwise/indexing.hpp"
#include "fovea/ops/elementwise/params.hpp"

namespace fovea {

namespace detail {

template <class T>
Layout broadcast_output_layout(const Tensor<T>& a, const Tensor<T>& b, const Shape& out) {
  if (out.rank() != 4) return Layout::nchw;
  return a.rank() == 4 ? a.layout() : b.layout();
}

// out[i] = combine(a[i'], b[i'']) where i' and i'' are the broadcast source indices.
template <class T, class Combine>
Tensor<T> broadcast_binary(const Tensor<T>& a, const Tensor<T>& b, const char* op,
                           Combine combine) {
  using Acc = typename AccumulatorOf<T>::type;
  const Shape shape = broadcast_shape(a.shape(), b.shape(), op);
  Tensor<T> out(shape, broadcast_output_layout(a, b, shape));
  for_each_index(shape, [&](const Index& i) {
    const Acc va = convert<Acc>(element(a, broadcast_source_index(i, shape.rank(), a.shape())));
    const Acc vb = convert<Acc>(element(b, broadcast_source_index(i, shape.rank(), b.shape())));
    element(out, i) = convert<T>(combine(va, vb));
  });
  return out;
}

}  // namespace detail

// a + b with NumPy broadcasting.
template <class T>
Tensor<T> add_reference(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::broadcast_binary(a, b, "add", [](auto x, auto y) { return x + y; });
}

// a * b with NumPy broadcasting.
template <class T>
Tensor<T> mul_reference(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::broadcast_binary(a, b, "mul", [](auto x, auto y) { return x * y; });
}

// The parts joined along `axis` (negative counts from the end), in order, like torch.cat.
template <class T>
Tensor<T> concat_reference(const std::vector<Tensor<T>>& parts, int axis) {
  FOVEA_CHECK(!parts.empty(), "concat needs at least one tensor");
  const int a = detail::normalize_axis(axis, parts[0].rank(), "concat");
  std::vector<Shape> shapes;
  for (const Tensor<T>& p : parts)
    shapes.push_back(p.shape());
  const Shape shape = concat_shape(shapes, a);
  Tensor<T> out(shape, shape.rank() == 4 ? parts[0].layout() : Layout::nchw);
  int64_t start = 0;
  for (const Tensor<T>& p : parts) {
    detail::for_each_index(p.shape(), [&](const detail::Index& i) {
      detail::Index o = i;
      o[static_cast<size_t>(a)] += start;
      detail::element(out, o) = detail::element(p, i);
    });
    start += p.dim(a);
  }
  return out;
}

}  // namespace fovea
