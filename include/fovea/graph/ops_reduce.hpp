// ReduceMean, ReduceMax and ReduceSum over a set of axes, accumulating in double. Axes come from
// the attribute (and for ReduceSum from opset 13, from input 1); none means every axis, unless
// noop_with_empty_axes.
#pragma once

#include <limits>
#include <vector>

#include "fovea/graph/kernel.hpp"
#include "fovea/graph/ops_shape.hpp"

namespace fovea::graph {

enum class ReduceOp { mean, max, sum };

inline Tensor<float> reduce(const Tensor<float>& x, std::vector<int64_t> axes, bool keepdims,
                            ReduceOp op) {
  const int rank = x.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t a : axes)
    reduced[static_cast<size_t>(detail::resolve_axis(a, rank))] = true;
  std::vector<int64_t> kept_dims;  // the output with reduced axes as extent 1
  for (int d = 0; d < rank; ++d)
    kept_dims.push_back(reduced[static_cast<size_t>(d)] ? 1 : x.dim(d));
  const Shape kept(kept_dims);
  std::vector<double> acc(static_cast<size_t>(kept.numel()),
                          op == ReduceOp::max ? -std::numeric_limits<double>::infinity() : 0.0);
  const int64_t per_output = x.numel() / std::max<int64_t>(kept.numel(), 1);
  fovea::detail::for_each_index(x.shape(), [&](const fovea::detail::Index& i) {
    int64_t flat = 0;
    for (int d = 0; d < rank; ++d)
      flat = flat * kept[d] + (reduced[static_cast<size_t>(d)] ? 0 : i[static_cast<size_t>(d)]);
    const double v = fovea::detail::element(x, i);
    double& slot = acc[static_cast<size_t>(flat)];
    if (op == ReduceOp::max) {
      if (v > slot || std::isnan(v)) slot = v;
    } else {
      slot += v;
    }
  });
  Tensor<float> y(kept);
  for (int64_t j = 0; j < kept.numel(); ++j) {
    const double v = acc[static_cast<size_t>(j)];
    y[j] = static_cast<float>(op == ReduceOp::mean ? v / double(per_output) : v);
  }
  if (keepdims) return y;
  std::vector<int64_t> dims;
  for (int d = 0; d < rank; ++d) {
    if (!reduced[static_cast<size_t>(d)]) dims.push_back(x.dim(d));
  }
  return y.reshape(Shape(dims));
}

inline Kernel compile_reduce(const NodeDef& node, int opset, ReduceOp op) {
  const bool axes_input = op == ReduceOp::sum && opset >= 13;
  if (axes_input) {
    node.check_attributes({"keepdims", "noop_with_empty_axes"});
  } else {
    node.check_attributes({"axes", "keepdims"});
  }
  node.check_outputs(1);
  const std::vector<int64_t> attr_axes = node.attr_ints("axes", {});
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  const bool noop_empty = node.attr_int("noop_with_empty_axes", 0) != 0;
  return [=](const Inputs& in) {
    const Tensor<float>& x = required_float(in, 0, "data");
    std::vector<int64_t> axes = attr_axes;
    if (axes_input && optional(in, 1) != nullptr) axes = optional(in, 1)->to_ints();
    if (axes.empty() && noop_empty) return single(x);
    return single(reduce(x, axes, keepdims, op));
  };
}

}  // namespace fovea::graph
