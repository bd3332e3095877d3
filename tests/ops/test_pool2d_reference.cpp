#include <doctest/doctest.h>

#include "fovea/nn/pool.hpp"
#include "fovea/ops/pool2d/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

namespace {

// A 1x1xHxW tensor holding first, first + 1, … in row-major order.
Tensor<double> ramp(int64_t h, int64_t w, double first) {
  Tensor<double> x(Shape{1, 1, h, w});
  for (int64_t i = 0; i < x.numel(); ++i)
    x[i] = first + static_cast<double>(i);
  return x;
}

Pool2dAttrs ceil_attrs(int64_t kernel, int64_t stride, int64_t padding, bool include_pad) {
  Pool2dAttrs a = Pool2dAttrs::make(kernel, stride, padding);
  a.ceil_mode = true;
  a.count_include_pad = include_pad;
  return a;
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("max_pool2d reference: 4x4 ramp with kernel 2 and stride 2") {
    // Rows 0..3, 4..7, 8..11, 12..15: each 2x2 block's maximum is its bottom-right element.
    Tensor<double> y = max_pool2d_reference(ramp(4, 4, 0), Pool2dAttrs::make(2, 2));
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y[0] == 5);
    CHECK(y[1] == 7);
    CHECK(y[2] == 13);
    CHECK(y[3] == 15);
  }

  TEST_CASE("max_pool2d reference: padding never wins over negative inputs") {
    Tensor<double> x = ramp(2, 2, -10);  // -10 -9 / -8 -7
    Tensor<double> y = max_pool2d_reference(x, Pool2dAttrs::make(3, 1, 1));
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    for (int i = 0; i < 4; ++i)
      CHECK(y[i] == -7);
  }

  TEST_CASE("max_pool2d reference: a NaN in the window gives NaN") {
    Tensor<float> x = Tensor<float>(Shape{1, 1, 2, 2}).fill(1.0f);
    x[3] = NAN;
    Tensor<float> y = max_pool2d_reference(x, Pool2dAttrs::make(2, 2));
    CHECK(std::isnan(y[0]));
  }

  TEST_CASE("avg_pool2d reference: count_include_pad divides by 9 or by the covered cells") {
    // x = 1..9 in 3x3, kernel 3, stride 1, padding 1. Corner window covers 1+2+4+5 = 12 over
    // 4 cells, edge window (0, 1) covers 1+..+6 = 21 over 6 cells, centre covers 45 over 9.
    Tensor<double> x = ramp(3, 3, 1);
    Pool2dAttrs a = Pool2dAttrs::make(3, 1, 1);
    Tensor<double> with_pad = avg_pool2d_reference(x, a);
    CHECK(with_pad(0, 0, 0, 0) == doctest::Approx(12.0 / 9));
    CHECK(with_pad(0, 0, 0, 1) == doctest::Approx(21.0 / 9));
    CHECK(with_pad(0, 0, 1, 1) == doctest::Approx(5.0));
    a.count_include_pad = false;
    Tensor<double> without_pad = avg_pool2d_reference(x, a);
    CHECK(without_pad(0, 0, 0, 0) == doctest::Approx(3.0));
    CHECK(without_pad(0, 0, 0, 1) == doctest::Approx(3.5));
    CHECK(without_pad(0, 0, 1, 1) == doctest::Approx(5.0));
  }

  TEST_CASE("pool2d output size follows torch's ceil_mode rule") {
    // H = 5, kernel 2, stride 2: floor gives (5 - 2) / 2 + 1 = 2, ceil gives 3.
    CHECK(pool_output_size(5, 2, 2, 0, 0, false) == 2);
    CHECK(pool_output_size(5, 2, 2, 0, 0, true) == 3);
    // H = 3, kernel 2, stride 2, padding 1: ceil((3 + 2 - 2) / 2) + 1 = 3, but window 2 would
    // start at 2*2 - 1 = 3, in the right padding, so it is dropped: 2 (torch agrees).
    CHECK(pool_output_size(3, 2, 2, 1, 1, true) == 2);
    // H = 4, kernel 1, stride 2: the ceil candidate's last window starts at 4 = H: dropped.
    CHECK(pool_output_size(4, 1, 2, 0, 0, true) == 2);
    // Kernel larger than the padded input gives a non-positive size (floor division).
    CHECK(pool_output_size(1, 3, 2, 0, 0, false) <= 0);
    Tensor<float> x(Shape{1, 1, 3, 3});
    CHECK(max_pool2d_reference(x, ceil_attrs(2, 2, 1, true)).shape() == Shape{1, 1, 2, 2});
  }

  TEST_CASE("avg_pool2d reference: ceil-mode windows past the padded edge divide like torch") {
    // 5x5 ramp 0..24, kernel 2, stride 2, ceil: the last column window holds only column 4, so
    // output (0, 2) = (4 + 9) / 2 and the corner = 24 / 1.
    Tensor<double> y = avg_pool2d_reference(ramp(5, 5, 0), ceil_attrs(2, 2, 0, true));
    REQUIRE(y.shape() == Shape{1, 1, 3, 3});
    CHECK(y(0, 0, 0, 0) == doctest::Approx(3.0));
    CHECK(y(0, 0, 0, 2) == doctest::Approx(6.5));
    CHECK(y(0, 0, 2, 2) == doctest::Approx(24.0));
    // 4x4 ones, kernel 3, stride 2, padding 1, ceil: 3x3 output. The last window spans rows
    // 3..5: row 3 is input, row 4 padding, row 5 beyond the padding. Counting padding divides
    // by 2 rows (not 3), so the corner is 1 / (2 * 2) and the first cell 4 / 9.
    Tensor<double> ones = Tensor<double>(Shape{1, 1, 4, 4}).fill(1.0);
    Tensor<double> incl = avg_pool2d_reference(ones, ceil_attrs(3, 2, 1, true));
    REQUIRE(incl.shape() == Shape{1, 1, 3, 3});
    CHECK(incl(0, 0, 0, 0) == doctest::Approx(4.0 / 9));
    CHECK(incl(0, 0, 0, 2) == doctest::Approx(2.0 / 6));
    CHECK(incl(0, 0, 2, 2) == doctest::Approx(0.25));
    Tensor<double> excl = avg_pool2d_reference(ones, ceil_attrs(3, 2, 1, false));
    for (int64_t i = 0; i < excl.numel(); ++i)
      CHECK(excl[i] == doctest::Approx(1.0));
  }

  TEST_CASE("adaptive_avg_pool2d reference: 5 to 3 uses overlapping windows") {
    // Windows [floor(i*5/3), ceil((i+1)*5/3)) = [0, 2), [1, 4), [3, 5) over 1..5.
    Tensor<double> y = adaptive_avg_pool2d_reference(ramp(1, 5, 1), 1, 3);
    REQUIRE(y.shape() == Shape{1, 1, 1, 3});
    CHECK(y[0] == doctest::Approx(1.5));
    CHECK(y[1] == doctest::Approx(3.0));
    CHECK(y[2] == doctest::Approx(4.5));
    // The same along H, from a 5x5 ramp 0..24: rows [1, 4) of column window [3, 5) average to
    // row 2.0 * 5 + column 3.5 = 13.5.
    Tensor<double> z = adaptive_avg_pool2d_reference(ramp(5, 5, 0), 3, 3);
    CHECK(z(0, 0, 1, 2) == doctest::Approx(13.5));
  }

  TEST_CASE("global pools reduce each image to one value") {
    Tensor<float> x(Shape{2, 3, 2, 2});
    for (int64_t i = 0; i < x.numel(); ++i)
      x[i] = static_cast<float>(i);
    Tensor<float> avg = global_avg_pool2d_reference(x);
    Tensor<float> max = global_max_pool2d_reference(x);
    REQUIRE(avg.shape() == Shape{2, 3, 1, 1});
    REQUIRE(max.shape() == Shape{2, 3, 1, 1});
    // Image (n, c) holds 4k .. 4k+3 with k = 3n + c: mean 4k + 1.5, max 4k + 3.
    CHECK(avg(1, 2, 0, 0) == 4 * 5 + 1.5f);
    CHECK(max(1, 2, 0, 0) == 4 * 5 + 3.0f);
    CHECK(avg(0, 1, 0, 0) == 4 * 1 + 1.5f);
  }

  TEST_CASE("pool2d references give the NHWC layout of the NCHW result") {
    Tensor<float> x(Shape{2, 3, 7, 6});
    x.fill_uniform(11, -1, 1);
    const Tensor<float> xh = x.to_layout(Layout::nhwc);
    Pool2dAttrs a = ceil_attrs(3, 2, 1, false);
    Tensor<float> m = max_pool2d_reference(xh, a);
    CHECK(m.layout() == Layout::nhwc);
    CHECK(test::max_relative_error(m, max_pool2d_reference(x, a)) == 0.0);
    CHECK(test::max_relative_error(avg_pool2d_reference(xh, a), avg_pool2d_reference(x, a)) == 0.0);
    CHECK(test::max_relative_error(adaptive_avg_pool2d_reference(xh, 4, 3),
                                   adaptive_avg_pool2d_reference(x, 4, 3)) == 0.0);
  }

  TEST_CASE("pool2d rejects bad attributes and shapes with a clear message") {
    Tensor<float> x(Shape{1, 1, 3, 3});
    CHECK_THROWS_WITH_AS(max_pool2d_reference(x, Pool2dAttrs::make(2, 1, 2)),
                         doctest::Contains("at most half the kernel"), Error);
    CHECK_THROWS_WITH_AS(avg_pool2d_reference(x, Pool2dAttrs::make(5, 1)),
                         doctest::Contains("does not fit"), Error);
    CHECK_THROWS_WITH_AS(max_pool2d_reference(x, Pool2dAttrs::make(2, 0)),
                         doctest::Contains("stride must be positive"), Error);
    CHECK_THROWS_WITH_AS(avg_pool2d_reference(Tensor<float>(Shape{3, 3}), Pool2dAttrs::make(2, 2)),
                         doctest::Contains("(N, C, H, W)"), Error);
    CHECK_THROWS_WITH_AS(adaptive_avg_pool2d_reference(x, 0, 1),
                         doctest::Contains("must be positive"), Error);
  }

  TEST_CASE("pool layers run their op and describe themselves") {
    Tensor<float> x(Shape{1, 2, 4, 4});
    x.fill_uniform(5, -1, 1);
    nn::MaxPool2d max_pool(Pool2dAttrs::make(3, 2, 1));
    CHECK(max_pool.kind() == "MaxPool2d");
    CHECK(max_pool.describe() == "kernel=3x3, stride=2x2, padding=1,1,1,1");
    CHECK(test::max_relative_error(max_pool(x),
                                   max_pool2d_reference(x, Pool2dAttrs::make(3, 2, 1))) == 0.0);
    nn::AvgPool2d avg_pool(ceil_attrs(2, 2, 0, false));
    CHECK(avg_pool.describe() ==
          "kernel=2x2, stride=2x2, padding=0,0,0,0, ceil_mode=true, "
          "count_include_pad=false");
    nn::AdaptiveAvgPool2d adaptive(1, 1);
    CHECK(adaptive(x).shape() == Shape{1, 2, 1, 1});
    CHECK(adaptive.parameter_count() == 0);
    CHECK_THROWS_AS(nn::AdaptiveAvgPool2d(0, 1), Error);
  }
}
