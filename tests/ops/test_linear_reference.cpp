#include <doctest/doctest.h>

#include "fovea/nn/linear.hpp"
#include "fovea/ops/linear/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

TEST_SUITE("cpu") {
  TEST_CASE("linear reference: hand-checked rows with and without bias") {
    // x = [[1, 2, 3], [0, 1, 0]], w = [[1, 0, -1], [2, 2, 2]], b = [0.5, -1].
    Tensor<double> x(Shape{2, 3}), w(Shape{2, 3}), b(Shape{2});
    const double xs[6] = {1, 2, 3, 0, 1, 0}, ws[6] = {1, 0, -1, 2, 2, 2};
    for (int i = 0; i < 6; ++i)
      x[i] = xs[i], w[i] = ws[i];
    b[0] = 0.5, b[1] = -1;
    Tensor<double> y = linear_reference(x, w, b);
    REQUIRE(y.shape() == Shape{2, 2});
    CHECK(y(0, 0) == 1 - 3 + 0.5);
    CHECK(y(0, 1) == 12 - 1);
    CHECK(y(1, 0) == 0.5);
    CHECK(y(1, 1) == 2 - 1);
    Tensor<double> no_bias = linear_reference(x, w, Tensor<double>());
    CHECK(no_bias(0, 0) == -2);
    CHECK(no_bias(0, 1) == 12);
  }

  TEST_CASE("linear reference rejects mismatched shapes with a clear message") {
    Tensor<float> x(Shape{2, 3}), w(Shape{4, 5});
    CHECK_THROWS_WITH_AS(linear_reference(x, w, Tensor<float>()),
                         doctest::Contains("expects 5 input features"), Error);
    Tensor<float> w_ok(Shape{4, 3});
    CHECK_THROWS_WITH_AS(linear_reference(x, w_ok, Tensor<float>(Shape{3})),
                         doctest::Contains("bias must be [4], got [3]"), Error);
    CHECK_THROWS_WITH_AS(linear_reference(Tensor<float>(Shape{2, 3, 1, 1}), w_ok, Tensor<float>()),
                         doctest::Contains("flatten"), Error);
  }

  TEST_CASE("Linear layer has torch's parameter names and shapes") {
    nn::Linear fc(3, 2);
    auto named = fc.named_tensors("fc.");
    REQUIRE(named.size() == 2);
    CHECK(named[0].name == "fc.weight");
    CHECK(named[0].tensor->shape() == Shape{2, 3});
    CHECK(named[1].name == "fc.bias");
    CHECK(fc.parameter_count() == 8);
    CHECK(fc.describe() == "3, 2");
    fc.weight().fill(1.0f);
    fc.bias()[1] = 10.0f;
    Tensor<float> x = Tensor<float>(Shape{1, 3}).fill(2.0f);
    Tensor<float> y = fc(x);
    CHECK(y(0, 0) == 6.0f);
    CHECK(y(0, 1) == 16.0f);
    nn::Linear head(3, 2, false);
    CHECK_FALSE(head.has_bias());
    CHECK(head.named_tensors().size() == 1);
    CHECK(head.describe() == "3, 2, bias=false");
  }
}
