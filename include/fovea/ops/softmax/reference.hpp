// Reference softmax and log-softmax along one axis of a tensor of any rank (either layout for
// rank 4; output in the input's layout). Both subtract the maximum first, so large inputs do not
// overflow exp, and sum in double for floating point.
#pragma once

#include <algorithm>
#include <cmath>

#include "fovea/core/tensor.hpp"
#include "fovea/ops/elementwise/indexing.hpp"

namespace fovea {

namespace detail {

// For every line of x along `axis`, with m the line's maximum and s = sum of exp(x - m), writes
// finish(x - m, s) to the same positions of y.
template <class T, class Finish>
Tensor<T> along_axis_normalized(const Tensor<T>& x, int axis, const char* op, Finish finish) {
  using Acc = typename AccumulatorOf<T>::type;
  FOVEA_CHECK(x.rank() >= 1, op, " needs a tensor of rank 1 or more, got ", x.shape());
  const int a = normalize_axis(axis, x.rank(), op);
  Tensor<T> y(x.shape(), x.layout());
  Shape lines = x.shape();
  const int64_t length = lines[a];
  if (length == 0) return y;
  lines[a] = 1;
  const int64_t step = x.strides()[static_cast<size_t>(a)];
  for_each_index(lines, [&](const Index& first) {
    // x and y share shape and layout, so one offset and stride serve both.
    const int64_t base = offset_of(x, first);
    Acc max = convert<Acc>(x.data()[base]);
    for (int64_t i = 1; i < length; ++i)
      max = std::max(max, convert<Acc>(x.data()[base + i * step]));
    Acc sum(0);
    for (int64_t i = 0; i < length; ++i)
      sum += std::exp(convert<Acc>(x.data()[base + i * step]) - max);
    for (int64_t i = 0; i < length; ++i) {
      y.data()[base + i * step] =
          convert<T>(finish(convert<Acc>(x.data()[base + i * step]) - max, sum));
    }
  });
  return y;
}

}  // namespace detail

// y = exp(x) / sum of exp(x) along `axis` (negative counts from the end).
template <class T>
Tensor<T> softmax_reference(const Tensor<T>& x, int axis) {
  return detail::along_axis_normalized(
      x, axis, "softmax", [](auto shifted, auto sum) { return std::exp(shifted) / sum; });
}

// y = x - log(sum of exp(x)) along `axis`, computed without forming the softmax.
template <class T>
Tensor<T> log_softmax_reference(const Tensor<T>& x, int axis) {
  return detail::along_axis_normalized(
      x, axis, "log_softmax", [](auto shifted, auto sum) { return shifted - std::log(sum); });
}

}  // namespace fovea
