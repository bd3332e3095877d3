#include <doctest/doctest.h>

#include <cmath>

#include "fovea/ops/softmax/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

namespace {

Tensor<double> pair(double a, double b) {
  Tensor<double> t(Shape{2});
  t[0] = a, t[1] = b;
  return t;
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("softmax of 0 and ln 2 is one third and two thirds") {
    // exp values 1 and 2, sum 3.
    Tensor<double> y = softmax_reference(pair(0, std::log(2.0)), 0);
    CHECK(y[0] == doctest::Approx(1.0 / 3));
    CHECK(y[1] == doctest::Approx(2.0 / 3));
    Tensor<double> ly = log_softmax_reference(pair(0, std::log(2.0)), -1);
    CHECK(ly[0] == doctest::Approx(std::log(1.0 / 3)));
    CHECK(ly[1] == doctest::Approx(std::log(2.0 / 3)));
  }

  TEST_CASE("softmax is stable for inputs whose exp overflows") {
    Tensor<float> x(Shape{2});
    x[0] = 1000.0f, x[1] = 1000.0f + static_cast<float>(std::log(2.0));
    Tensor<float> y = softmax_reference(x, 0);
    CHECK(y[0] == doctest::Approx(1.0 / 3).epsilon(1e-4));
    CHECK(y[1] == doctest::Approx(2.0 / 3).epsilon(1e-4));
    Tensor<float> ly = log_softmax_reference(x, 0);
    CHECK(std::isfinite(ly[0]));
    CHECK(ly[0] == doctest::Approx(-std::log(3.0)).epsilon(1e-4));
  }

  TEST_CASE("softmax runs along the requested axis") {
    // x = [[0, ln 2, 0], [ln 3, 0, 0]].
    Tensor<double> x(Shape{2, 3});
    x[1] = std::log(2.0), x[3] = std::log(3.0);
    Tensor<double> rows = softmax_reference(x, 1);
    CHECK(rows(0, 1) == doctest::Approx(0.5));  // 2 / (1 + 2 + 1)
    CHECK(rows(1, 0) == doctest::Approx(0.6));  // 3 / (3 + 1 + 1)
    CHECK(test::max_relative_error(softmax_reference(x, -1), rows) == 0.0);
    Tensor<double> cols = softmax_reference(x, 0);
    CHECK(cols(0, 0) == doctest::Approx(0.25));     // 1 / (1 + 3)
    CHECK(cols(0, 1) == doctest::Approx(2.0 / 3));  // 2 / (2 + 1)
    CHECK(cols(1, 2) == doctest::Approx(0.5));
  }

  TEST_CASE("softmax over channels of an NHWC tensor equals the NCHW result") {
    Tensor<float> x(Shape{2, 5, 3, 4});
    x.fill_uniform(21, -4, 4);
    Tensor<float> want = softmax_reference(x, 1);
    Tensor<float> got = softmax_reference(x.to_layout(Layout::nhwc), 1);
    CHECK(got.layout() == Layout::nhwc);
    CHECK(test::max_relative_error(got, want) == 0.0);
    // Each channel line sums to one.
    double sum = 0;
    for (int64_t c = 0; c < 5; ++c)
      sum += want(1, c, 2, 3);
    CHECK(sum == doctest::Approx(1.0));
  }

  TEST_CASE("softmax rejects an axis outside the rank") {
    Tensor<float> x(Shape{2, 3});
    CHECK_THROWS_WITH_AS(softmax_reference(x, 2),
                         doctest::Contains("axis 2 is out of range for rank 2"), Error);
    CHECK_THROWS_WITH_AS(log_softmax_reference(x, -3), doctest::Contains("log_softmax"), Error);
  }
}
