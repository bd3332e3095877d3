// Conv2d problem description: the attributes a layer holds, and the full problem once the input
// and weight shapes are known. Shape maths and validation live here, once, for every kernel.
#pragma once

#include <cstdint>

#include "fovea/core/error.hpp"
#include "fovea/core/shape.hpp"

namespace fovea {

// What a convolution layer is configured with, independent of the input it will see.
struct Conv2dAttrs {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;

  static Conv2dAttrs make(int64_t stride, int64_t padding, int64_t dilation = 1,
                          int64_t groups = 1) {
    Conv2dAttrs a;
    a.stride_h = a.stride_w = stride;
    a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = padding;
    a.dilation_h = a.dilation_w = dilation;
    a.groups = groups;
    return a;
  }
};

// One convolution problem: input (N, C, H, W), weight (K, C / groups, R, S), output (N, K, P, Q).
struct Conv2dParams {
  int64_t n = 0, c = 0, h = 0, w = 0;  // input
  int64_t k = 0, r = 0, s = 0;         // output channels, kernel height and width
  int64_t p = 0, q = 0;                // output height and width
  Conv2dAttrs attrs;

  static Conv2dParams make(const Shape& input, const Shape& weight, const Conv2dAttrs& a) {
    FOVEA_CHECK(input.rank() == 4, "conv2d input must be (N, C, H, W), got ", input);
    FOVEA_CHECK(weight.rank() == 4, "conv2d weight must be (K, C/groups, R, S), got ", weight);
    FOVEA_CHECK(a.stride_h > 0 && a.stride_w > 0, "conv2d stride must be positive, got ",
                a.stride_h, "x", a.stride_w);
    FOVEA_CHECK(a.dilation_h > 0 && a.dilation_w > 0, "conv2d dilation must be positive, got ",
                a.dilation_h, "x", a.dilation_w);
    FOVEA_CHECK(a.pad_top >= 0 && a.pad_left >= 0 && a.pad_bottom >= 0 && a.pad_right >= 0,
                "conv2d padding must not be negative");
    FOVEA_CHECK(a.groups > 0, "conv2d groups must be positive, got ", a.groups);
    Conv2dParams p;
    p.attrs = a;
    p.n = input[0], p.c = input[1], p.h = input[2], p.w = input[3];
    p.k = weight[0], p.r = weight[2], p.s = weight[3];
    FOVEA_CHECK(p.c % a.groups == 0 && p.k % a.groups == 0, "conv2d channels in ", p.c, " and out ",
                p.k, " must both divide by groups ", a.groups);
    FOVEA_CHECK(weight[1] * a.groups == p.c, "conv2d weight ", weight, " expects ",
                weight[1] * a.groups, " input channels with groups ", a.groups, ", input is ",
                input);
    const int64_t span_h = a.dilation_h * (p.r - 1) + 1;
    const int64_t span_w = a.dilation_w * (p.s - 1) + 1;
    const int64_t padded_h = p.h + a.pad_top + a.pad_bottom;
    const int64_t padded_w = p.w + a.pad_left + a.pad_right;
    FOVEA_CHECK(p.r > 0 && p.s > 0 && span_h <= padded_h && span_w <= padded_w, "conv2d kernel ",
                p.r, "x", p.s, " (dilation ", a.dilation_h, "x", a.dilation_w,
                ") does not fit the padded input ", padded_h, "x", padded_w);
    p.p = (padded_h - span_h) / a.stride_h + 1;
    p.q = (padded_w - span_w) / a.stride_w + 1;
    return p;
  }

  int64_t groups() const { return attrs.groups; }
  int64_t c_per_group() const { return c / attrs.groups; }
  int64_t k_per_group() const { return k / attrs.groups; }
  Shape input_shape() const { return {n, c, h, w}; }
  Shape weight_shape() const { return {k, c_per_group(), r, s}; }
  Shape output_shape() const { return {n, k, p, q}; }
  // Multiply-adds counted as two operations, the convention of every GFLOP/s figure we report.
  double flops() const { return 2.0 * n * k * p * q * c_per_group() * r * s; }
};

}  // namespace fovea
