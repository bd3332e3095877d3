#include <doctest/doctest.h>

#include <cmath>

#include "fovea/nn/cbam.hpp"
#include "fovea/nn/squeeze_excitation.hpp"
#include "fovea/ops/attention/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

namespace {

Tensor<double> filled(const Shape& shape, std::initializer_list<double> values) {
  Tensor<double> t(shape);
  int64_t i = 0;
  for (double v : values)
    t[i++] = v;
  REQUIRE(i == t.numel());
  return t;
}

double sigmoid(double v) {
  return 1 / (1 + std::exp(-v));
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("squeeze excitation reference: hand-checked weights") {
    // x: channel 0 = (1, 3), mean 2; channel 1 = (2, 6), mean 4.
    // fc1 = [1, -1] with bias 3: 2 - 4 + 3 = 1, ReLU keeps 1.
    // fc2 = [2, -1] without bias: (2, -1); hardsigmoid: (5/6, 1/3).
    const Tensor<double> x = filled({1, 2, 1, 2}, {1, 3, 2, 6});
    const Tensor<double> fc1_w = filled({1, 2, 1, 1}, {1, -1});
    const Tensor<double> fc2_w = filled({2, 1, 1, 1}, {2, -1});
    const Tensor<double> fc2_b(Shape{2});
    Tensor<double> y =
        squeeze_excitation_reference(x, fc1_w, filled({1}, {3}), fc2_w, fc2_b, ActivationKind::relu,
                                     ActivationKind::hardsigmoid);
    REQUIRE(y.shape() == x.shape());
    CHECK(y[0] == doctest::Approx(5.0 / 6));
    CHECK(y[1] == doctest::Approx(2.5));
    CHECK(y[2] == doctest::Approx(2.0 / 3));
    CHECK(y[3] == doctest::Approx(2.0));
    // With fc1 bias 0 the hidden value is -2, which ReLU zeroes, so the scale is
    // sigmoid(fc2 bias) = sigmoid(0) and sigmoid(ln 3) = 1/2 and 3/4.
    const Tensor<double> fc2_b2 = filled({2}, {0, std::log(3.0)});
    Tensor<double> z = squeeze_excitation_reference(x, fc1_w, filled({1}, {0}), fc2_w, fc2_b2,
                                                    ActivationKind::relu, ActivationKind::sigmoid);
    CHECK(z[1] == doctest::Approx(1.5));
    CHECK(z[3] == doctest::Approx(4.5));
  }

  TEST_CASE("squeeze excitation reference rejects weights that do not match the input") {
    Tensor<float> x(Shape{1, 4, 3, 3});
    Tensor<float> fc1_w(Shape{2, 4, 1, 1}), fc1_b(Shape{2}), fc2_w(Shape{4, 2, 1, 1}),
        fc2_b(Shape{4});
    CHECK_NOTHROW(squeeze_excitation_reference(x, fc1_w, fc1_b, fc2_w, fc2_b, ActivationKind::relu,
                                               ActivationKind::sigmoid));
    CHECK_THROWS_WITH_AS(
        squeeze_excitation_reference(x, Tensor<float>(Shape{2, 3, 1, 1}), fc1_b, fc2_w, fc2_b,
                                     ActivationKind::relu, ActivationKind::sigmoid),
        doctest::Contains("fc1 weight must be [2, 4, 1, 1], got [2, 3, 1, 1]"), Error);
    CHECK_THROWS_WITH_AS(
        squeeze_excitation_reference(x, fc1_w, fc1_b, fc2_w, Tensor<float>(Shape{2}),
                                     ActivationKind::relu, ActivationKind::sigmoid),
        doctest::Contains("fc2 bias must be [4]"), Error);
  }

  TEST_CASE("channel mean and max are stacked mean first") {
    // Two channels at two positions: (1, 3) and (5, -1) -> mean (2, 2), max (3, 5).
    const Tensor<double> x = filled({1, 2, 1, 2}, {1, 5, 3, -1});
    Tensor<double> y = channel_mean_max_reference(x);
    REQUIRE(y.shape() == Shape{1, 2, 1, 2});
    CHECK(y(0, 0, 0, 0) == 2.0);
    CHECK(y(0, 0, 0, 1) == 2.0);
    CHECK(y(0, 1, 0, 0) == 3.0);
    CHECK(y(0, 1, 0, 1) == 5.0);
  }

  TEST_CASE("cbam reference: hand-checked single channel and pixel") {
    // x = 2, mlp weights 1 and 1: both pools give 2, mlp(2) = 2, channel scale sigmoid(4),
    // x1 = 2 sigmoid(4). Spatial conv 1x1 weights (0.5, -1.5) on (mean, max) = (x1, x1) gives
    // -x1, so y = x1 * sigmoid(-x1).
    const Tensor<double> x = filled({1, 1, 1, 1}, {2});
    const Tensor<double> one = filled({1, 1, 1, 1}, {1});
    const Tensor<double> spatial = filled({1, 2, 1, 1}, {0.5, -1.5});
    const double x1 = 2 * sigmoid(4);
    CHECK(channel_attention_reference(x, one, one)[0] == doctest::Approx(x1));
    CHECK(cbam_reference(x, one, one, spatial)[0] == doctest::Approx(x1 * sigmoid(-x1)));
    // A spatial bias of 3 shifts the logit: x1 * sigmoid(3 - x1).
    CHECK(cbam_reference(x, one, one, spatial, filled({1}, {3}))[0] ==
          doctest::Approx(x1 * sigmoid(3 - x1)));
  }

  TEST_CASE("cbam channel attention adds the two pooled branches before the sigmoid") {
    // One channel holding (-1, 3): avg 1, max 3. mlp = relu(w1 v) * w2 with w1 = 1, w2 = -1:
    // -1 and -3, so the scale is sigmoid(-4) and ReLU matters (a negative mean would vanish).
    const Tensor<double> x = filled({1, 1, 1, 2}, {-1, 3});
    const Tensor<double> w1 = filled({1, 1, 1, 1}, {1}), w2 = filled({1, 1, 1, 1}, {-1});
    Tensor<double> y = channel_attention_reference(x, w1, w2);
    CHECK(y[0] == doctest::Approx(-sigmoid(-4)));
    CHECK(y[1] == doctest::Approx(3 * sigmoid(-4)));
  }

  TEST_CASE("cbam spatial attention keeps the image size and rejects even kernels") {
    Tensor<float> x(Shape{2, 3, 5, 6});
    x.fill_uniform(41, -1, 1);
    Tensor<float> w(Shape{1, 2, 7, 7});
    w.fill_uniform(42, -0.2, 0.2);
    Tensor<float> y = spatial_attention_reference(x, w);
    CHECK(y.shape() == x.shape());
    Tensor<float> yh = spatial_attention_reference(x.to_layout(Layout::nhwc), w);
    CHECK(yh.layout() == Layout::nhwc);
    CHECK(test::max_relative_error(yh, y) < 1e-6);
    CHECK_THROWS_WITH_AS(spatial_attention_reference(x, Tensor<float>(Shape{1, 2, 4, 4})),
                         doctest::Contains("[1, 2, k, k] with k odd"), Error);
    CHECK_THROWS_WITH_AS(channel_attention_reference(x, Tensor<float>(Shape{1, 4, 1, 1}),
                                                     Tensor<float>(Shape{3, 1, 1, 1})),
                         doctest::Contains("fc1 weight must be [1, 3, 1, 1]"), Error);
  }

  TEST_CASE("SqueezeExcitation layer has torchvision's child names and computes the op") {
    nn::SqueezeExcitation se(2, 1, ActivationKind::relu, ActivationKind::hardsigmoid);
    REQUIRE(se.children().size() == 5);
    CHECK(se.children()[0].first == "avgpool");
    CHECK(se.children()[1].first == "fc1");
    CHECK(se.children()[2].first == "fc2");
    CHECK(se.children()[3].first == "activation");
    CHECK(se.children()[4].first == "scale_activation");
    CHECK(se.submodule("scale_activation").kind() == "Hardsigmoid");
    auto named = se.named_tensors();
    REQUIRE(named.size() == 4);
    CHECK(named[0].name == "fc1.weight");
    CHECK(named[1].name == "fc1.bias");
    CHECK(named[2].name == "fc2.weight");
    CHECK(named[3].name == "fc2.bias");
    // The hand-checked case of the reference test, in float.
    se.fc1().weight()[0] = 1, se.fc1().weight()[1] = -1, se.fc1().bias()[0] = 3;
    se.fc2().weight()[0] = 2, se.fc2().weight()[1] = -1;
    Tensor<float> x(Shape{1, 2, 1, 2});
    x[0] = 1, x[1] = 3, x[2] = 2, x[3] = 6;
    Tensor<float> y = se(x);
    CHECK(y[1] == doctest::Approx(2.5));
    CHECK(y[2] == doctest::Approx(2.0 / 3));
  }

  TEST_CASE("CBAM layer names its weights and matches the op") {
    nn::CBAM cbam_layer(32, 16, 7);
    auto named = cbam_layer.named_tensors("att.");
    REQUIRE(named.size() == 3);
    CHECK(named[0].name == "att.channel_attention.fc1.weight");
    CHECK(named[0].tensor->shape() == Shape{2, 32, 1, 1});
    CHECK(named[1].name == "att.channel_attention.fc2.weight");
    CHECK(named[1].tensor->shape() == Shape{32, 2, 1, 1});
    CHECK(named[2].name == "att.spatial_attention.conv.weight");
    CHECK(named[2].tensor->shape() == Shape{1, 2, 7, 7});
    uint64_t seed = 50;
    for (const nn::NamedTensor& t : named)
      t.tensor->fill_uniform(seed++, -0.5, 0.5);
    Tensor<float> x(Shape{1, 32, 6, 5});
    x.fill_uniform(60, -1, 1);
    Tensor<float> want = cbam_reference(x, *named[0].tensor, *named[1].tensor, *named[2].tensor);
    CHECK(test::max_relative_error(cbam_layer(x), want) == 0.0);
    // The children run on their own give the same result, one after the other.
    Tensor<float> staged = cbam_layer.spatial_attention()(cbam_layer.channel_attention()(x));
    CHECK(test::max_relative_error(staged, want) == 0.0);
    CHECK_THROWS_WITH_AS(nn::CBAM(8, 16), doctest::Contains("at least one hidden channel"), Error);
  }
}
