#include <doctest/doctest.h>

#include "fovea/ops/activation/backward.hpp"
#include "fovea/ops/activation/reference.hpp"
#include "fovea/ops/attention/backward.hpp"
#include "fovea/ops/batchnorm/backward.hpp"
#include "fovea/ops/elementwise/backward.hpp"
#include "fovea/ops/elementwise/flatten.hpp"
#include "fovea/ops/elementwise/reference.hpp"
#include "fovea/ops/linear/backward.hpp"
#include "fovea/ops/linear/reference.hpp"
#include "fovea/ops/pool2d/backward.hpp"
#include "fovea/ops/pool2d/reference.hpp"
#include "gradcheck.hpp"

using namespace fovea;
using fovea::test::check_gradient;
using fovea::test::random_tensor;

TEST_SUITE("cpu") {
  TEST_CASE("activation gradients match finite differences") {
    for (ActivationKind kind : kAllActivationKinds) {
      CAPTURE(activation_name(kind));
      // Values in ±4 but kept off every kink (0, ±3, 6) by more than the step.
      Tensor<double> x = random_tensor({2, 3, 4, 4}, 11, -4, 4);
      for (double& v : x) {
        for (double kink : {0.0, 3.0, -3.0})
          if (std::abs(v - kink) < 1e-3) v += 0.01;
      }
      const Tensor<double> probe = random_tensor(x.shape(), 12);
      check_gradient(
          "x", x, activation_backward_reference(x, probe, kind),
          [&] { return activation_reference(x, kind); }, probe);
    }
  }

  TEST_CASE("relu gradient at zero is zero as in torch") {
    CHECK(activation_derivative(ActivationKind::relu, 0.0) == 0.0);
    CHECK(activation_derivative(ActivationKind::hardswish, 3.0) == 1.5);
    CHECK(activation_derivative(ActivationKind::relu6, 6.0) == 0.0);
  }

  TEST_CASE("linear gradients match finite differences and the GEMM path") {
    Tensor<double> x = random_tensor({3, 5}, 21);
    Tensor<double> w = random_tensor({4, 5}, 22);
    Tensor<double> b = random_tensor({4}, 23);
    const Tensor<double> probe = random_tensor({3, 4}, 24);
    const LinearGradients<double> g = linear_backward_reference(x, w, probe, true);
    const auto f = [&] { return linear_reference(x, w, b); };
    check_gradient("input", x, g.input, f, probe);
    check_gradient("weight", w, g.weight, f, probe);
    check_gradient("bias", b, g.bias, f, probe);
    const LinearGradients<float> fast =
        linear_backward(x.cast<float>(), w.cast<float>(), probe.cast<float>(), true);
    for (int64_t i = 0; i < g.input.numel(); ++i)
      CHECK(fast.input[i] == doctest::Approx(g.input[i]).epsilon(1e-5));
    for (int64_t i = 0; i < g.weight.numel(); ++i)
      CHECK(fast.weight[i] == doctest::Approx(g.weight[i]).epsilon(1e-5));
    for (int64_t i = 0; i < g.bias.numel(); ++i)
      CHECK(fast.bias[i] == doctest::Approx(g.bias[i]).epsilon(1e-5));
  }

  TEST_CASE("training-mode batch norm gradients match finite differences") {
    Tensor<double> x = random_tensor({3, 2, 3, 4}, 31, -2, 3);
    Tensor<double> gamma = random_tensor({2}, 32, 0.5, 1.5);
    Tensor<double> beta = random_tensor({2}, 33);
    const Tensor<double> probe = random_tensor(x.shape(), 34);
    const BatchStatistics<double> s = batch_statistics_reference(x);
    const BatchNormGradients<double> g =
        batchnorm_training_backward_reference(x, gamma, s.mean, s.var, 1e-5, probe);
    const auto f = [&] { return batchnorm_training_reference(x, gamma, beta, 1e-5); };
    check_gradient("input", x, g.input, f, probe);
    check_gradient("weight", gamma, g.weight, f, probe);
    check_gradient("bias", beta, g.bias, f, probe);
  }

  TEST_CASE("max pool gradients match finite differences") {
    Pool2dAttrs a = Pool2dAttrs::make(3, 2, 1);
    a.ceil_mode = true;
    Tensor<double> x = random_tensor({2, 2, 7, 6}, 41);
    const Tensor<double> probe =
        random_tensor(Pool2dParams::make(x.shape(), a, "").output_shape(), 42);
    check_gradient(
        "x", x, max_pool2d_backward_reference(x, probe, a),
        [&] { return max_pool2d_reference(x, a); }, probe);
  }

  TEST_CASE("max pool sends the gradient to the first maximum of a tie") {
    Tensor<double> x(Shape{1, 1, 2, 2});
    x.fill(1.0);
    Tensor<double> gy(Shape{1, 1, 1, 1});
    gy[0] = 7;
    const Tensor<double> dx = max_pool2d_backward_reference(x, gy, Pool2dAttrs::make(2, 2));
    CHECK(dx[0] == 7);
    CHECK(dx[1] == 0);
    CHECK(dx[2] == 0);
    CHECK(dx[3] == 0);
  }

  TEST_CASE("average pool gradients match finite differences") {
    for (bool include_pad : {true, false}) {
      Pool2dAttrs a = Pool2dAttrs::make(3, 2, 1);
      a.count_include_pad = include_pad;
      a.ceil_mode = true;
      Tensor<double> x = random_tensor({1, 2, 6, 7}, 51);
      const Tensor<double> probe =
          random_tensor(Pool2dParams::make(x.shape(), a, "").output_shape(), 52);
      check_gradient(
          "x", x, avg_pool2d_backward_reference(x.shape(), probe, a),
          [&] { return avg_pool2d_reference(x, a); }, probe);
    }
  }

  TEST_CASE("adaptive and global average pool gradients match finite differences") {
    Tensor<double> x = random_tensor({2, 3, 7, 5}, 61);
    const Tensor<double> probe = random_tensor({2, 3, 3, 2}, 62);
    check_gradient(
        "adaptive", x, adaptive_avg_pool2d_backward_reference(x.shape(), probe),
        [&] { return adaptive_avg_pool2d_reference(x, 3, 2); }, probe);
    const Tensor<double> probe1 = random_tensor({2, 3, 1, 1}, 63);
    check_gradient(
        "global", x, adaptive_avg_pool2d_backward_reference(x.shape(), probe1),
        [&] { return global_avg_pool2d_reference(x); }, probe1);
  }

  TEST_CASE("add gradients reduce over broadcast dimensions") {
    Tensor<double> a = random_tensor({2, 3, 4}, 71);
    Tensor<double> b = random_tensor({3, 1}, 72);
    const Tensor<double> probe = random_tensor({2, 3, 4}, 73);
    const auto f = [&] { return add_reference(a, b); };
    check_gradient("a", a, add_backward_reference(a.shape(), probe), f, probe);
    check_gradient("b", b, add_backward_reference(b.shape(), probe), f, probe);
  }

  TEST_CASE("flatten gradient is the reshaped output gradient") {
    Tensor<double> x = random_tensor({2, 3, 2, 2}, 81);
    const Tensor<double> probe = random_tensor({2, 12}, 82);
    check_gradient(
        "x", x, flatten_backward(x.shape(), probe), [&] { return flatten(x, 1); }, probe);
  }

  TEST_CASE("squeeze-excitation gradients match finite differences") {
    Tensor<double> x = random_tensor({2, 4, 3, 3}, 91);
    Tensor<double> w1 = random_tensor({2, 4, 1, 1}, 92), b1 = random_tensor({2}, 93);
    Tensor<double> w2 = random_tensor({4, 2, 1, 1}, 94), b2 = random_tensor({4}, 95);
    const Tensor<double> probe = random_tensor(x.shape(), 96);
    const auto act = ActivationKind::silu, scale_act = ActivationKind::sigmoid;
    const SqueezeExcitationGradients<double> g =
        squeeze_excitation_backward_reference(x, w1, b1, w2, b2, act, scale_act, probe);
    const auto f = [&] { return squeeze_excitation_reference(x, w1, b1, w2, b2, act, scale_act); };
    check_gradient("input", x, g.input, f, probe);
    check_gradient("fc1 weight", w1, g.fc1_weight, f, probe);
    check_gradient("fc1 bias", b1, g.fc1_bias, f, probe);
    check_gradient("fc2 weight", w2, g.fc2_weight, f, probe);
    check_gradient("fc2 bias", b2, g.fc2_bias, f, probe);
  }
}
