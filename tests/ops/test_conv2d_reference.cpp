#include <doctest/doctest.h>

#include "fovea/ops/conv2d/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

TEST_SUITE("cpu") {
  TEST_CASE("conv2d reference: hand-checked 3x3 with padding and bias") {
    // x = 1..9 in a 3x3 image, all-ones 3x3 kernel, padding 1: each output is the sum of its
    // neighbourhood.
    Tensor<float> x(Shape{1, 1, 3, 3});
    for (int i = 0; i < 9; ++i)
      x[i] = static_cast<float>(i + 1);
    Tensor<float> w = Tensor<float>(Shape{1, 1, 3, 3}).fill(1.0f);
    Tensor<float> b = Tensor<float>(Shape{1}).fill(0.5f);
    Tensor<float> y = conv2d_reference(x, w, b, Conv2dAttrs::make(1, 1));
    const float want[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
    for (int i = 0; i < 9; ++i)
      CHECK(y[i] == want[i] + 0.5f);
  }

  TEST_CASE("conv2d reference: stride and asymmetric padding and dilation and groups by hand") {
    // 1x2x4x4 input, groups 2, one 2x2 kernel per group with dilation 2, stride 2,
    // padding top 1 / left 0 / bottom 0 / right 1.
    Tensor<double> x(Shape{1, 2, 4, 4});
    for (int i = 0; i < 32; ++i)
      x[i] = i;
    Tensor<double> w(Shape{2, 1, 2, 2});
    w.fill(1.0);
    w(1, 0, 0, 0) = 2.0;
    Conv2dAttrs a;
    a.stride_h = a.stride_w = 2;
    a.pad_top = 1;
    a.pad_right = 1;
    a.dilation_h = a.dilation_w = 2;
    a.groups = 2;
    Tensor<double> y = conv2d_reference(x, w, Tensor<double>(), a);
    // Padded height 5, span 3: P = (5 - 3) / 2 + 1 = 2; padded width 5: Q = 2.
    REQUIRE(y.shape() == Shape{1, 2, 2, 2});
    // Output (0, 0): rows -1 (pad) and 1, cols 0 and 2 of channel 0 -> x[1][0] + x[1][2] = 4 + 6.
    CHECK(y(0, 0, 0, 0) == 10.0);
    // Output (0, 1): cols 2 and 4 (pad) -> x[1][2] = 6.
    CHECK(y(0, 0, 0, 1) == 6.0);
    // Output (1, 0): rows 1 and 3, cols 0 and 2 -> 4 + 6 + 12 + 14.
    CHECK(y(0, 0, 1, 0) == 36.0);
    // Group 1 reads channel 1 (offset 16), first tap weighted 2: 2*(16+4) + (16+6) + (16+12) +
    // (16+14).
    CHECK(y(0, 1, 1, 0) == 2 * 20.0 + 22 + 28 + 30);
  }

  TEST_CASE("conv2d reference: NHWC input gives the NHWC layout of the same result") {
    Tensor<float> x(Shape{2, 4, 5, 7});
    x.fill_uniform(1, -1, 1);
    Tensor<float> w(Shape{6, 2, 3, 3});
    w.fill_uniform(2, -1, 1);
    Tensor<float> b(Shape{6});
    b.fill_uniform(3, -1, 1);
    const Conv2dAttrs a = Conv2dAttrs::make(2, 1, 1, 2);
    Tensor<float> y1 = conv2d_reference(x, w, b, a);
    Tensor<float> y2 = conv2d_reference(x.to_layout(Layout::nhwc), w, b, a);
    CHECK(y2.layout() == Layout::nhwc);
    CHECK(test::max_relative_error(y2, y1) == 0.0);
  }

  TEST_CASE("conv2d params reject inconsistent shapes with a clear message") {
    Tensor<float> x(Shape{1, 3, 8, 8});
    Tensor<float> w(Shape{4, 2, 3, 3});
    CHECK_THROWS_WITH_AS(conv2d_reference(x, w, Tensor<float>(), Conv2dAttrs{}),
                         doctest::Contains("input channels"), Error);
    Tensor<float> big(Shape{4, 3, 11, 11});
    CHECK_THROWS_WITH_AS(conv2d_reference(x, big, Tensor<float>(), Conv2dAttrs{}),
                         doctest::Contains("does not fit"), Error);
    Tensor<float> ok(Shape{4, 3, 3, 3});
    CHECK_THROWS_WITH_AS(conv2d_reference(x, ok, Tensor<float>(Shape{5}), Conv2dAttrs{}),
                         doctest::Contains("bias"), Error);
  }
}
