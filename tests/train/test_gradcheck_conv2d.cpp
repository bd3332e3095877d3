#include <doctest/doctest.h>

#include "fovea/ops/conv2d/backward.hpp"
#include "fovea/ops/conv2d/reference.hpp"
#include "gradcheck.hpp"

using namespace fovea;
using fovea::test::check_gradient;
using fovea::test::random_tensor;

namespace {

void check_conv(const Shape& input, const Shape& weight, const Conv2dAttrs& attrs) {
  Tensor<double> x = random_tensor(input, 1);
  Tensor<double> w = random_tensor(weight, 2);
  Tensor<double> b = random_tensor(Shape{weight[0]}, 3);
  const Conv2dParams cp = Conv2dParams::make(input, weight, attrs);
  const Tensor<double> probe = random_tensor(cp.output_shape(), 4);
  const Conv2dGradients<double> g = conv2d_backward_reference(x, w, probe, attrs, true);
  const auto f = [&] { return conv2d_reference(x, w, b, attrs); };
  check_gradient("input", x, g.input, f, probe);
  check_gradient("weight", w, g.weight, f, probe);
  check_gradient("bias", b, g.bias, f, probe);
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("conv2d gradients match finite differences") {
    check_conv({2, 3, 6, 5}, {4, 3, 3, 3}, Conv2dAttrs::make(1, 1));
  }
  TEST_CASE("strided dilated asymmetric-padded conv2d gradients match finite differences") {
    Conv2dAttrs a = Conv2dAttrs::make(2, 0, 2);
    a.pad_top = 1, a.pad_right = 2;
    check_conv({1, 2, 7, 8}, {3, 2, 2, 3}, a);
  }
  TEST_CASE("grouped and depthwise conv2d gradients match finite differences") {
    check_conv({2, 4, 5, 5}, {6, 2, 3, 3}, Conv2dAttrs::make(1, 1, 1, 2));
    check_conv({1, 3, 5, 6}, {3, 1, 3, 3}, Conv2dAttrs::make(2, 1, 1, 3));
  }

  TEST_CASE("conv2d gradients of a hand-checked 1x1 case") {
    // y = 2·x + 1 on a 1×1×1×2 input; dL/dy = (3, 5): dx = (6, 10), dw = 3·x0 + 5·x1, db = 8.
    Tensor<double> x(Shape{1, 1, 1, 2});
    x[0] = 1.5, x[1] = -2;
    Tensor<double> w(Shape{1, 1, 1, 1});
    w[0] = 2;
    Tensor<double> gy(Shape{1, 1, 1, 2});
    gy[0] = 3, gy[1] = 5;
    const Conv2dGradients<double> g = conv2d_backward_reference(x, w, gy, Conv2dAttrs{}, true);
    CHECK(g.input[0] == 6);
    CHECK(g.input[1] == 10);
    CHECK(g.weight[0] == 3 * 1.5 - 5 * 2);
    CHECK(g.bias[0] == 8);
  }

  TEST_CASE("the GEMM conv2d backward agrees with the reference") {
    struct Case {
      Shape input, weight;
      Conv2dAttrs attrs;
    };
    const Case cases[] = {
        {{3, 1, 12, 12}, {6, 1, 5, 5}, Conv2dAttrs{}},
        {{2, 8, 9, 9}, {16, 8, 3, 3}, Conv2dAttrs::make(2, 1)},
        {{2, 6, 7, 7}, {6, 2, 3, 3}, Conv2dAttrs::make(1, 1, 2, 3)},
        {{1, 4, 6, 6}, {4, 1, 3, 3}, Conv2dAttrs::make(1, 1, 1, 4)},
    };
    for (const Case& c : cases) {
      CAPTURE(c.input);
      const Tensor<float> x = Tensor<float>(c.input).fill_uniform(5, -1, 1);
      const Tensor<float> w = Tensor<float>(c.weight).fill_uniform(6, -1, 1);
      const Conv2dParams cp = Conv2dParams::make(c.input, c.weight, c.attrs);
      const Tensor<float> gy = Tensor<float>(cp.output_shape()).fill_uniform(7, -1, 1);
      const Conv2dGradients<float> fast = conv2d_backward(x, w, gy, c.attrs, true);
      const Conv2dGradients<double> ref = conv2d_backward_reference(
          x.cast<double>(), w.cast<double>(), gy.cast<double>(), c.attrs, true);
      const auto close = [](const Tensor<float>& a, const Tensor<double>& b) {
        REQUIRE(a.shape() == b.shape());
        double worst = 0;
        for (int64_t i = 0; i < a.numel(); ++i)
          worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
        return worst;
      };
      CHECK(close(fast.input, ref.input) < 1e-5);
      CHECK(close(fast.weight, ref.weight) < 1e-5);
      CHECK(close(fast.bias, ref.bias) < 1e-5);
    }
  }
}
