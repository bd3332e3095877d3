#include <doctest/doctest.h>

#include <cmath>

#include "fovea/nn/batchnorm.hpp"
#include "fovea/ops/batchnorm/fold.hpp"
#include "fovea/ops/batchnorm/reference.hpp"
#include "fovea/ops/conv2d/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

namespace {

Tensor<double> vec(std::initializer_list<double> values) {
  Tensor<double> t(Shape{static_cast<int64_t>(values.size())});
  int64_t i = 0;
  for (double v : values)
    t[i++] = v;
  return t;
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("batchnorm reference: hand-checked per-channel normalization") {
    // Channel 0 holds 1 and 3 (mean 2, var 4, gamma 2, beta 1): (1 - 2) / 2 * 2 + 1 = 0 and 2.
    // Channel 1 holds 5 and 5 (mean 1, var 15, eps 1 so sqrt(16) = 4, gamma 1, beta 0): 1 and 1.
    Tensor<double> x(Shape{1, 2, 1, 2});
    x[0] = 1, x[1] = 3, x[2] = 5, x[3] = 5;
    const Tensor<double> gamma = vec({2, 1}), beta = vec({1, 0});
    Tensor<double> y0 = batchnorm_reference(x, gamma, beta, vec({2, 1}), vec({4, 15}), 0.0);
    CHECK(y0[0] == 0.0);
    CHECK(y0[1] == 2.0);
    CHECK(y0[2] == doctest::Approx(4.0 / std::sqrt(15.0)));
    Tensor<double> y1 = batchnorm_reference(x, gamma, beta, vec({2, 1}), vec({3, 15}), 1.0);
    CHECK(y1[0] == 0.0);
    CHECK(y1[2] == 1.0);
    CHECK(y1[3] == 1.0);
  }

  TEST_CASE("batchnorm reference: rank 2 input and NHWC layout") {
    // [N, C] = [[1, 10], [3, 30]]: channel 1 normalized with mean 20, var 100 -> -1 and 1.
    Tensor<double> x(Shape{2, 2});
    x[0] = 1, x[1] = 10, x[2] = 3, x[3] = 30;
    Tensor<double> y =
        batchnorm_reference(x, vec({1, 1}), vec({0, 0}), vec({2, 20}), vec({1, 100}), 0.0);
    CHECK(y(0, 0) == -1.0);
    CHECK(y(1, 1) == 1.0);
    Tensor<float> img(Shape{2, 3, 4, 5});
    img.fill_uniform(1, -2, 2);
    Tensor<float> g(Shape{3}), b(Shape{3}), m(Shape{3}), v(Shape{3});
    g.fill_uniform(2, 0.5, 2), b.fill_uniform(3, -1, 1), m.fill_uniform(4, -1, 1);
    v.fill_uniform(5, 0.1, 3);
    Tensor<float> nchw = batchnorm_reference(img, g, b, m, v, 1e-5);
    Tensor<float> nhwc = batchnorm_reference(img.to_layout(Layout::nhwc), g, b, m, v, 1e-5);
    CHECK(nhwc.layout() == Layout::nhwc);
    CHECK(test::max_relative_error(nhwc, nchw) == 0.0);
  }

  TEST_CASE("batchnorm reference rejects parameters of the wrong size") {
    Tensor<float> x(Shape{1, 3, 2, 2});
    Tensor<float> ok(Shape{3}), bad(Shape{4});
    CHECK_THROWS_WITH_AS(batchnorm_reference(x, ok, ok, bad, ok, 1e-5),
                         doctest::Contains("running mean must be [3], got [4]"), Error);
    CHECK_THROWS_WITH_AS(batchnorm_reference(Tensor<float>(Shape{3}), ok, ok, ok, ok, 1e-5),
                         doctest::Contains("(N, C, ...)"), Error);
  }

  TEST_CASE("batch statistics are the per-channel mean and biased variance") {
    // Channel 0 over the batch: 1, 3, 5, 7 -> mean 4, variance (9 + 1 + 1 + 9) / 4 = 5.
    Tensor<double> x(Shape{2, 2, 1, 2});
    const double values[8] = {1, 3, 10, 10, 5, 7, 20, 20};
    for (int i = 0; i < 8; ++i)
      x[i] = values[i];
    BatchStatistics<double> s = batch_statistics_reference(x);
    CHECK(s.count == 4);
    CHECK(s.mean(0) == 4.0);
    CHECK(s.var(0) == 5.0);
    CHECK(s.mean(1) == 15.0);
    CHECK(s.var(1) == 25.0);
  }

  TEST_CASE("folded conv equals conv followed by batchnorm") {
    Tensor<float> x(Shape{2, 4, 9, 7});
    x.fill_uniform(10, -1, 1);
    Tensor<float> w(Shape{6, 2, 3, 3});
    w.fill_uniform(11, -1, 1);
    Tensor<float> bias(Shape{6});
    bias.fill_uniform(12, -1, 1);
    Tensor<float> gamma(Shape{6}), beta(Shape{6}), mean(Shape{6}), var(Shape{6});
    gamma.fill_uniform(13, 0.2, 3), beta.fill_uniform(14, -1, 1), mean.fill_uniform(15, -1, 1);
    var.fill_uniform(16, 0.01, 4);
    const Conv2dAttrs a = Conv2dAttrs::make(2, 1, 1, 2);
    for (const bool with_bias : {true, false}) {
      CAPTURE(with_bias);
      const Tensor<float> b = with_bias ? bias : Tensor<float>();
      const Tensor<float> w_before = w.clone();
      Tensor<float> want =
          batchnorm_reference(conv2d_reference(x, w, b, a), gamma, beta, mean, var, 1e-3);
      FoldedConv folded = fold_batchnorm(w, b, gamma, beta, mean, var, 1e-3);
      Tensor<float> got = conv2d_reference(x, folded.weight, folded.bias, a);
      CHECK(test::max_relative_error(got, want) < 1e-5);
      CHECK(test::max_relative_error(w, w_before) == 0.0);  // the conv weight is not modified
    }
  }

  TEST_CASE("fold_batchnorm hand-checked and rejects mismatched shapes") {
    // scale = 3 / sqrt(8 + 1) = 1: weight unchanged, bias (2 - 0.5) * 1 + 4 = 5.5.
    Tensor<float> w = Tensor<float>(Shape{1, 1, 1, 2}).fill(2.0f);
    auto one = [](float v) { return Tensor<float>(Shape{1}).fill(v); };
    FoldedConv f = fold_batchnorm(w, one(2), one(3), one(4), one(0.5f), one(8), 1.0);
    CHECK(f.weight[0] == 2.0f);
    CHECK(f.bias[0] == 5.5f);
    CHECK_THROWS_WITH_AS(
        fold_batchnorm(w, Tensor<float>(), one(1), one(0), one(0), Tensor<float>(Shape{2}), 1e-5),
        doctest::Contains("must all be [1]"), Error);
  }

  TEST_CASE("BatchNorm2d registers torch's names and normalizes with running statistics") {
    nn::BatchNorm2d bn(2, 0.0);
    auto named = bn.named_tensors("bn1.");
    REQUIRE(named.size() == 4);
    CHECK(named[0].name == "bn1.weight");
    CHECK(named[1].name == "bn1.bias");
    CHECK(named[2].name == "bn1.running_mean");
    CHECK(named[2].role == nn::TensorRole::buffer);
    CHECK(named[3].name == "bn1.running_var");
    CHECK(bn.parameter_count() == 4);
    CHECK(bn.weight()[1] == 1.0f);
    CHECK(bn.running_var()[1] == 1.0f);
    CHECK(bn.running_mean()[1] == 0.0f);
    bn.running_mean()[1] = 1.0f;
    bn.running_var()[1] = 4.0f;
    Tensor<float> x = Tensor<float>(Shape{1, 2, 1, 1}).fill(5.0f);
    Tensor<float> y = bn(x);
    CHECK(y[0] == 5.0f);
    CHECK(y[1] == 2.0f);  // (5 - 1) / 2
    CHECK_THROWS_WITH_AS(bn(Tensor<float>(Shape{1, 3, 2, 2})),
                         doctest::Contains("BatchNorm2d(2) expects input (N, 2, H, W)"), Error);
  }

  TEST_CASE("BatchNorm2d in training mode uses batch statistics and updates running ones") {
    // Channel 0 over the batch: 1, 3, 5, 7 -> mean 4, biased var 5, unbiased var 20/3.
    nn::BatchNorm2d bn(1, 0.0);
    bn.set_training(true);
    Tensor<float> x(Shape{2, 1, 1, 2});
    x[0] = 1, x[1] = 3, x[2] = 5, x[3] = 7;
    Tensor<float> y = bn(x);
    CHECK(y[0] == doctest::Approx(-3 / std::sqrt(5.0)));
    CHECK(y[3] == doctest::Approx(3 / std::sqrt(5.0)));
    // Momentum 0.1: 0.9 * 0 + 0.1 * 4 and 0.9 * 1 + 0.1 * 20/3.
    CHECK(bn.running_mean()[0] == doctest::Approx(0.4));
    CHECK(bn.running_var()[0] == doctest::Approx(0.9 + 2.0 / 3));
    CHECK_THROWS_WITH_AS(bn(Tensor<float>(Shape{1, 1, 1, 1})),
                         doctest::Contains("more than one value per channel"), Error);
    bn.set_training(false);
    Tensor<float> z = bn(x);
    CHECK(z[0] == doctest::Approx((1 - 0.4) / std::sqrt(0.9 + 2.0 / 3)));
  }
}
