// Elementwise ops: Relu, Sigmoid, HardSwish (fovea's activation entry point), HardSigmoid with
// ONNX's alpha and beta, Exp, Clip, the broadcasting Add, Sub, Mul, Div, and Softmax.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "fovea/graph/kernel.hpp"
#include "fovea/graph/ops_shape.hpp"
#include "fovea/ops/activation/activation.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"
#include "fovea/ops/softmax/softmax.hpp"

namespace fovea::graph {

namespace detail {

// y[i] = f(x[i]) evaluated in double and rounded once.
template <class F>
Tensor<float> map_elements(const Tensor<float>& x, F f) {
  Tensor<float> y(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    y[i] = static_cast<float>(f(double(x[i])));
  return y;
}

}  // namespace detail

inline Kernel compile_activation(const NodeDef& node, int /*opset*/, ActivationKind kind) {
  node.check_attributes({});
  node.check_outputs(1);
  return [kind](const Inputs& in) { return single(activation(required_float(in, 0, "X"), kind)); };
}

// max(0, min(1, alpha * x + beta)); ONNX's defaults differ from torch's Hardsigmoid (1/6, 1/2).
inline Kernel compile_hard_sigmoid(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"alpha", "beta"});
  node.check_outputs(1);
  const double alpha = node.attr_float("alpha", 0.2), beta = node.attr_float("beta", 0.5);
  return [=](const Inputs& in) {
    return single(detail::map_elements(required_float(in, 0, "X"), [=](double v) {
      return std::max(0.0, std::min(1.0, alpha * v + beta));
    }));
  };
}

inline Kernel compile_exp(const NodeDef& node, int /*opset*/) {
  node.check_attributes({});
  node.check_outputs(1);
  return [](const Inputs& in) {
    return single(
        detail::map_elements(required_float(in, 0, "input"), [](double v) { return std::exp(v); }));
  };
}

// min(max(x, lo), hi): bounds from attributes before opset 11, from optional scalar inputs
// after; a missing bound is unbounded. With lo > hi every element becomes hi, as in ONNX.
inline Kernel compile_clip(const NodeDef& node, int opset) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (opset < 11) {
    node.check_attributes({"min", "max"});
  } else {
    node.check_attributes({});
  }
  node.check_outputs(1);
  const double attr_lo = node.attr_float("min", -kInf), attr_hi = node.attr_float("max", kInf);
  return [=](const Inputs& in) {
    const Tensor<float>& x = required_float(in, 0, "input");
    double lo = attr_lo, hi = attr_hi;
    const auto bound = [&](size_t i, const char* what, double& out) {
      const GraphValue* v = optional(in, i);
      if (v == nullptr) return;
      const Tensor<float>& t = v->as_float();
      FOVEA_CHECK(t.numel() == 1, what, " must be a scalar, got ", t.shape());
      out = t[0];
    };
    if (opset >= 11) {
      bound(1, "min", lo);
      bound(2, "max", hi);
    }
    return single(detail::map_elements(x, [=](double v) {
      if (std::isnan(v)) return v;
      return std::min(std::max(v, lo), hi);
    }));
  };
}

enum class BinaryOp { add, sub, mul, div };

// NumPy-broadcasting arithmetic on two float or two int tensors (ints divide truncating).
inline Kernel compile_binary(const NodeDef& node, int /*opset*/, BinaryOp op) {
  node.check_attributes({});
  node.check_outputs(1);
  return [op](const Inputs& in) {
    const GraphValue& a = required(in, 0, "A");
    const GraphValue& b = required(in, 1, "B");
    FOVEA_CHECK(a.is_float() == b.is_float(), "operands differ in type: ", a.describe(), " and ",
                b.describe());
    const auto combine = [op](auto x, auto y) {
      switch (op) {
        case BinaryOp::add:
          return x + y;
        case BinaryOp::sub:
          return x - y;
        case BinaryOp::mul:
          return x * y;
        case BinaryOp::div:
          break;
      }
      return x / y;
    };
    if (a.is_float()) {
      if (op == BinaryOp::add) return single(add(a.as_float(), b.as_float()));
      if (op == BinaryOp::mul) return single(mul(a.as_float(), b.as_float()));
      return single(
          fovea::detail::broadcast_binary(a.as_float(), b.as_float(), "arithmetic", combine));
    }
    if (op == BinaryOp::div) {
      const Tensor<int32_t>& divisor = b.as_int();
      FOVEA_CHECK(std::find(divisor.begin(), divisor.end(), 0) == divisor.end(),
                  "integer division by zero");
    }
    return single(fovea::detail::broadcast_binary(a.as_int(), b.as_int(), "arithmetic", combine));
  };
}

// Before opset 13 Softmax views the input as a matrix [d0*...*d(axis-1), d(axis)*...] and
// normalizes its rows (default axis 1); from 13 on it normalizes along one axis (default -1).
inline Kernel compile_softmax(const NodeDef& node, int opset) {
  node.check_attributes({"axis"});
  node.check_outputs(1);
  const int64_t axis = node.attr_int("axis", opset < 13 ? 1 : -1);
  return [=](const Inputs& in) {
    const Tensor<float>& x = required_float(in, 0, "input");
    const int a = detail::resolve_axis(axis, x.rank());
    if (opset >= 13) return single(softmax(x, a));
    const Shape rows{detail::product(x.shape(), 0, a), detail::product(x.shape(), a, x.rank())};
    return single(softmax(x.reshape(rows), 1).reshape(x.shape()));
  };
}

}  // namespace fovea::graph
