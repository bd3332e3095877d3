// The layer ops: Conv, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, Gemm and
// MatMul, mapped onto fovea's entry points (conv2d, batchnorm, pool2d, linear). 1-D inputs run
// as 2-D with a height of 1; pools that torch's rules reject use graph/pool.hpp.
#pragma once

#include <vector>

#include "fovea/graph/kernel.hpp"
#include "fovea/graph/ops_shape.hpp"
#include "fovea/graph/padding.hpp"
#include "fovea/graph/pool.hpp"
#include "fovea/ops/batchnorm/batchnorm.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"
#include "fovea/ops/linear/linear.hpp"
#include "fovea/ops/pool2d/pool2d.hpp"

namespace fovea::graph {

namespace detail {

// (N, C, W) -> (N, C, 1, W), so 1-D problems run on the 2-D ops.
inline Tensor<float> as_2d(const Tensor<float>& x) {
  if (x.rank() == 4) return x;
  FOVEA_CHECK(x.rank() == 3, "expected (N, C, W) or (N, C, H, W), got ", x.shape(),
              " (only 1-D and 2-D spatial inputs are supported)");
  return x.reshape(Shape{x.dim(0), x.dim(1), 1, x.dim(2)});
}

inline Tensor<float> back_to_rank(const Tensor<float>& y, int rank) {
  return rank == 4 ? y : y.reshape(Shape{y.dim(0), y.dim(1), y.dim(3)});
}

// SpatialAttrs for the (H, W) of a 2-D problem; a 1-D problem gets an identity H dimension.
inline SpatialAttrs spatial_2d(SpatialAttrs a, int rank) {
  a.complete(static_cast<size_t>(rank - 2));
  if (rank == 4) return a;
  if (!a.kernel.empty()) a.kernel.insert(a.kernel.begin(), 1);
  a.strides.insert(a.strides.begin(), 1);
  a.dilations.insert(a.dilations.begin(), 1);
  a.pads = {0, a.pads[0], 0, a.pads[1]};
  return a;
}

}  // namespace detail

inline Kernel compile_conv(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  node.check_outputs(1);
  const SpatialAttrs attrs = SpatialAttrs::read(node, true);
  FOVEA_CHECK(attrs.kernel.empty() || attrs.kernel.size() <= 2, node.where(), ": ",
              attrs.kernel.size(), "-D convolution is not supported (1-D and 2-D are)");
  const int64_t group = node.attr_int("group", 1);
  return [attrs, group](const Inputs& in) {
    const Tensor<float>& x = required_float(in, 0, "X");
    const Tensor<float>& w = required_float(in, 1, "W");
    const GraphValue* b = optional(in, 2);
    FOVEA_CHECK(w.rank() == x.rank(), "weight ", w.shape(), " and input ", x.shape(),
                " differ in rank");
    const SpatialAttrs a = detail::spatial_2d(attrs, x.rank());
    const Tensor<float> x2 = detail::as_2d(x), w2 = detail::as_2d(w);
    FOVEA_CHECK(a.kernel.empty() || (a.kernel[0] == w2.dim(2) && a.kernel[1] == w2.dim(3)),
                "kernel_shape does not match the weight ", w.shape());
    Conv2dAttrs c;
    c.stride_h = a.strides[0], c.stride_w = a.strides[1];
    c.dilation_h = a.dilations[0], c.dilation_w = a.dilations[1];
    std::tie(c.pad_top, c.pad_bottom) = a.padding(0, x2.dim(2), w2.dim(2));
    std::tie(c.pad_left, c.pad_right) = a.padding(1, x2.dim(3), w2.dim(3));
    c.groups = group;
    const Tensor<float> bias = b != nullptr ? b->as_float() : Tensor<float>();
    return single(detail::back_to_rank(conv2d(x2, w2, bias, c), x.rank()));
  };
}

// Inference batch norm only: training_mode and the running-statistics outputs are refused.
inline Kernel compile_batchnorm(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"epsilon", "momentum", "training_mode", "spatial"});
  FOVEA_CHECK(node.attr_int("training_mode", 0) == 0, node.where(),
              ": training_mode=1 is not supported (inference only)");
  node.check_outputs(1);
  FOVEA_CHECK(node.attr_int("spatial", 1) == 1, node.where(), ": spatial=0 is not supported");
  const double eps = node.attr_float("epsilon", 1e-5);
  return [eps](const Inputs& in) {
    return single(batchnorm(required_float(in, 0, "X"), required_float(in, 1, "scale"),
                            required_float(in, 2, "B"), required_float(in, 3, "input_mean"),
                            required_float(in, 4, "input_var"), eps));
  };
}

inline Kernel compile_pool(const NodeDef& node, int /*opset*/, bool is_max) {
  if (is_max) {
    node.check_attributes(
        {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"});
  } else {
    node.check_attributes(
        {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"});
  }
  node.check_outputs(1);  // MaxPool's Indices output is refused
  const SpatialAttrs attrs = SpatialAttrs::read(node, is_max);
  FOVEA_CHECK(!attrs.kernel.empty(), node.where(), ": attribute 'kernel_shape' is required");
  FOVEA_CHECK(attrs.kernel.size() <= 2, node.where(), ": ", attrs.kernel.size(),
              "-D pooling is not supported (1-D and 2-D are)");
  const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  const bool count_include_pad = node.attr_int("count_include_pad", 0) != 0;
  return [=](const Inputs& in) {
    const Tensor<float>& x = required_float(in, 0, "X");
    FOVEA_CHECK(x.rank() == static_cast<int>(attrs.kernel.size()) + 2, "input ", x.shape(),
                " does not have ", attrs.kernel.size(), " spatial dimension(s)");
    const SpatialAttrs a = detail::spatial_2d(attrs, x.rank());
    const Tensor<float> x2 = detail::as_2d(x);
    PoolWindow win{a.kernel[0],
                   a.kernel[1],
                   a.strides[0],
                   a.strides[1],
                   a.dilations[0],
                   a.dilations[1],
                   0,
                   0,
                   0,
                   0,
                   ceil_mode,
                   count_include_pad};
    std::tie(win.pad_top, win.pad_bottom) = a.padding(0, x2.dim(2), a.kernel[0]);
    std::tie(win.pad_left, win.pad_right) = a.padding(1, x2.dim(3), a.kernel[1]);
    // fovea's pool2d follows torch, which allows no dilation and at most half-kernel padding.
    const bool torch_compatible =
        win.dilation_h == 1 && win.dilation_w == 1 && win.pad_top <= win.kernel_h / 2 &&
        win.pad_bottom <= win.kernel_h / 2 && win.pad_left <= win.kernel_w / 2 &&
        win.pad_right <= win.kernel_w / 2;
    Tensor<float> y;
    if (torch_compatible) {
      Pool2dAttrs p;
      p.kernel_h = win.kernel_h, p.kernel_w = win.kernel_w;
      p.stride_h = win.stride_h, p.stride_w = win.stride_w;
      p.pad_top = win.pad_top, p.pad_bottom = win.pad_bottom;
      p.pad_left = win.pad_left, p.pad_right = win.pad_right;
      p.ceil_mode = ceil_mode;
      p.count_include_pad = count_include_pad;
      y = is_max ? max_pool2d(x2, p) : avg_pool2d(x2, p);
    } else {
      y = onnx_pool(x2, win, is_max);
    }
    return single(detail::back_to_rank(y, x.rank()));
  };
}

// Mean over every spatial dimension, keeping them as extent 1.
inline Kernel compile_global_average_pool(const NodeDef& node, int /*opset*/) {
  node.check_attributes({});
  node.check_outputs(1);
  return [](const Inputs& in) {
    const Tensor<float>& x = required_float(in, 0, "X");
    FOVEA_CHECK(x.rank() >= 3, "input must be (N, C, spatial...), got ", x.shape());
    if (x.rank() == 4) return single(global_avg_pool2d(x));
    const int64_t n = x.dim(0), c = x.dim(1), size = x.numel() / std::max<int64_t>(n * c, 1);
    std::vector<int64_t> dims(static_cast<size_t>(x.rank()), 1);
    dims[0] = n, dims[1] = c;
    Tensor<float> y{Shape(dims)};
    for (int64_t i = 0; i < n * c; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < size; ++j)
        sum += x[i * size + j];
      y[i] = static_cast<float>(sum / double(size));
    }
    return single(y);
  };
}

// Y = alpha * A' B' + beta * C, with A' = transA ? A^T : A, B' = transB ? B^T : B and C
// broadcast to (M, N). linear() takes the weight as (N, K), which is B' transposed.
inline Kernel compile_gemm(const NodeDef& node, int /*opset*/) {
  node.check_attributes({"alpha", "beta", "transA", "transB"});
  node.check_outputs(1);
  const double alpha = node.attr_float("alpha", 1.0), beta = node.attr_float("beta", 1.0);
  const bool trans_a = node.attr_int("transA", 0) != 0, trans_b = node.attr_int("transB", 0) != 0;
  return [=](const Inputs& in) {
    const Tensor<float>& a = required_float(in, 0, "A");
    const Tensor<float>& b = required_float(in, 1, "B");
    FOVEA_CHECK(a.rank() == 2 && b.rank() == 2, "A ", a.shape(), " and B ", b.shape(),
                " must be matrices");
    const Tensor<float> lhs = trans_a ? transpose(a, {1, 0}) : a;
    const Tensor<float> weight = trans_b ? b : transpose(b, {1, 0});
    const GraphValue* c = optional(in, 2);
    const int64_t n = weight.dim(0);
    // The common exported form (a fully connected layer) is exactly linear() with a bias.
    if (alpha == 1.0 && beta == 1.0 && c != nullptr && c->shape() == Shape{n}) {
      return single(linear(lhs, weight, c->as_float()));
    }
    Tensor<float> y = linear(lhs, weight, Tensor<float>());
    if (c != nullptr) {
      const Tensor<float>& bias = c->as_float();
      FOVEA_CHECK(broadcast_shape(y.shape(), bias.shape(), "Gemm") == y.shape(), "C ", bias.shape(),
                  " does not broadcast to ", y.shape());
    }
    fovea::detail::for_each_index(y.shape(), [&](const fovea::detail::Index& i) {
      double v = alpha * double(fovea::detail::element(y, i));
      if (c != nullptr && beta != 0.0) {
        const Tensor<float>& bias = c->as_float();
        v +=
            beta * double(fovea::detail::element(bias, broadcast_source_index(i, 2, bias.shape())));
      }
      fovea::detail::element(y, i) = static_cast<float>(v);
    });
    return single(y);
  };
}

// NumPy matmul: 1-D operands are promoted to matrices (and the extra dimension dropped after),
// leading batch dimensions broadcast. Each batch entry is one linear() call.
inline Tensor<float> matmul(const Tensor<float>& a_in, const Tensor<float>& b_in) {
  FOVEA_CHECK(a_in.rank() >= 1 && b_in.rank() >= 1, "matmul operands must have rank 1 or more");
  const Tensor<float> a = a_in.rank() == 1 ? a_in.reshape(Shape{1, a_in.dim(0)}) : a_in;
  const Tensor<float> b = b_in.rank() == 1 ? b_in.reshape(Shape{b_in.dim(0), 1}) : b_in;
  const int64_t m = a.dim(a.rank() - 2), k = a.dim(a.rank() - 1), n = b.dim(b.rank() - 1);
  FOVEA_CHECK(b.dim(b.rank() - 2) == k, "matmul: ", a_in.shape(), " times ", b_in.shape(),
              " (inner extents ", k, " and ", b.dim(b.rank() - 2), " differ)");
  const Shape a_batch(std::vector<int64_t>(a.shape().begin(), a.shape().end() - 2));
  const Shape b_batch(std::vector<int64_t>(b.shape().begin(), b.shape().end() - 2));
  const Shape batch = broadcast_shape(a_batch, b_batch, "matmul");
  std::vector<int64_t> dims(batch.begin(), batch.end());
  dims.push_back(m);
  dims.push_back(n);
  Tensor<float> y{Shape(dims)};
  int64_t entry = 0;
  const auto matrix = [](const Tensor<float>& t, const Shape& t_batch,
                         const fovea::detail::Index& i, int rank) {
    const fovea::detail::Index src = broadcast_source_index(i, rank, t_batch);
    int64_t flat = 0;
    for (int d = 0; d < t_batch.rank(); ++d)
      flat = flat * t_batch[d] + src[static_cast<size_t>(d)];
    const int64_t rows = t.dim(t.rank() - 2), cols = t.dim(t.rank() - 1);
    return Tensor<float>::wrap(const_cast<float*>(t.data()) + flat * rows * cols,
                               Shape{rows, cols});
  };
  const auto one = [&](const fovea::detail::Index& i) {
    const Tensor<float> lhs = matrix(a, a_batch, i, batch.rank());
    const Tensor<float> rhs_t = transpose(matrix(b, b_batch, i, batch.rank()), {1, 0});
    const Tensor<float> prod = linear(lhs, rhs_t, Tensor<float>());
    std::copy(prod.begin(), prod.end(), y.data() + entry * m * n);
    ++entry;
  };
  if (batch.rank() == 0) {
    one(fovea::detail::Index{});
  } else {
    fovea::detail::for_each_index(batch, one);
  }
  std::vector<int64_t> out(batch.begin(), batch.end());
  if (a_in.rank() > 1) out.push_back(m);
  if (b_in.rank() > 1) out.push_back(n);
  return y.reshape(Shape(out));
}

inline Kernel compile_matmul(const NodeDef& node, int /*opset*/) {
  node.check_attributes({});
  node.check_outputs(1);
  return [](const Inputs& in) {
    return single(matmul(required_float(in, 0, "A"), required_float(in, 1, "B")));
  };
}

}  // namespace fovea::graph
