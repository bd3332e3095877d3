#include <doctest/doctest.h>

#include <cmath>

#include "fovea/nn/activation.hpp"
#include "fovea/ops/activation/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

TEST_SUITE("cpu") {
  TEST_CASE("hardswish and hardsigmoid follow torch's relu6 formulas") {
    // hardswish(x) = x * relu6(x + 3) / 6: 0 at -3 and 0, 3 at 3, -1 * 2 / 6 at -1, 1 * 4 / 6 at 1.
    CHECK(activate(ActivationKind::hardswish, -3.0) == 0.0);
    CHECK(activate(ActivationKind::hardswish, 0.0) == 0.0);
    CHECK(activate(ActivationKind::hardswish, 3.0) == 3.0);
    CHECK(activate(ActivationKind::hardswish, -1.0) == doctest::Approx(-1.0 / 3));
    CHECK(activate(ActivationKind::hardswish, 1.0) == doctest::Approx(2.0 / 3));
    CHECK(activate(ActivationKind::hardswish, -5.0) == 0.0);
    CHECK(activate(ActivationKind::hardswish, 5.0) == 5.0);
    // hardsigmoid(x) = relu6(x + 3) / 6.
    CHECK(activate(ActivationKind::hardsigmoid, -3.0) == 0.0);
    CHECK(activate(ActivationKind::hardsigmoid, 0.0) == 0.5);
    CHECK(activate(ActivationKind::hardsigmoid, 3.0) == 1.0);
    CHECK(activate(ActivationKind::hardsigmoid, 1.5) == 0.75);
  }

  TEST_CASE("relu and relu6 and sigmoid and silu and tanh at hand-checked points") {
    CHECK(activate(ActivationKind::relu, -2.0) == 0.0);
    CHECK(activate(ActivationKind::relu, 2.5) == 2.5);
    CHECK(activate(ActivationKind::relu6, 7.0) == 6.0);
    CHECK(activate(ActivationKind::relu6, -1.0) == 0.0);
    CHECK(activate(ActivationKind::relu6, 4.0) == 4.0);
    CHECK(activate(ActivationKind::sigmoid, 0.0) == 0.5);
    // sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4, so silu(ln 3) = 0.75 ln 3.
    CHECK(activate(ActivationKind::sigmoid, std::log(3.0)) == doctest::Approx(0.75));
    CHECK(activate(ActivationKind::silu, std::log(3.0)) == doctest::Approx(0.75 * std::log(3.0)));
    CHECK(activate(ActivationKind::silu, 0.0) == 0.0);
    // tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 3/5.
    CHECK(activate(ActivationKind::tanh, std::log(2.0)) == doctest::Approx(0.6));
    CHECK(activate(ActivationKind::identity, -4.25) == -4.25);
    // Saturation without overflow.
    CHECK(activate(ActivationKind::sigmoid, -1000.0) == 0.0);
    CHECK(activate(ActivationKind::silu, 1000.0) == 1000.0);
  }

  TEST_CASE("activations propagate NaN like torch") {
    for (ActivationKind kind : kAllActivationKinds) {
      CAPTURE(activation_name(kind));
      CHECK(std::isnan(activate(kind, NAN)));
    }
  }

  TEST_CASE("activation names are torch's class names and parse back") {
    CHECK(std::string(activation_name(ActivationKind::relu6)) == "ReLU6");
    CHECK(std::string(activation_name(ActivationKind::silu)) == "SiLU");
    CHECK(std::string(activation_name(ActivationKind::hardswish)) == "Hardswish");
    for (ActivationKind kind : kAllActivationKinds) {
      CHECK(activation_from_name(activation_name(kind)) == kind);
    }
    CHECK_THROWS_WITH_AS(activation_from_name("Swish"),
                         doctest::Contains("unknown activation 'Swish'"), Error);
  }

  TEST_CASE("activation reference maps every element and keeps the layout") {
    Tensor<float> x(Shape{1, 2, 2, 1});
    const float values[4] = {-3.0f, -1.0f, 0.0f, 3.0f};
    for (int i = 0; i < 4; ++i)
      x[i] = values[i];
    const Tensor<float> xh = x.to_layout(Layout::nhwc);
    Tensor<float> y = activation_reference(xh, ActivationKind::hardswish);
    CHECK(y.layout() == Layout::nhwc);
    CHECK(y(0, 0, 0, 0) == 0.0f);
    CHECK(y(0, 0, 1, 0) == doctest::Approx(-1.0 / 3));
    CHECK(y(0, 1, 0, 0) == 0.0f);
    CHECK(y(0, 1, 1, 0) == 3.0f);
  }

  TEST_CASE("Activation layer reports the torch class name and applies its kind") {
    nn::Activation relu(ActivationKind::relu);
    CHECK(relu.kind() == "ReLU");
    CHECK(relu.activation_kind() == ActivationKind::relu);
    CHECK(relu.parameter_count() == 0);
    Tensor<float> x(Shape{3});
    x[0] = -1.0f, x[1] = 0.5f, x[2] = 2.0f;
    Tensor<float> y = relu(x);
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 0.5f);
    CHECK(y[2] == 2.0f);
    CHECK(x[0] == -1.0f);  // the input is not modified
  }
}
