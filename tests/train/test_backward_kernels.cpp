// The float training kernels (batch-norm forward and backward, ReLU and max-pool backward, conv2d
// backward on the GEMM and the forward conv kernels) against their double references on random
// data, and their independence of the thread count.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "fovea/cpu/thread_pool.hpp"
#include "fovea/ops/activation/backward.hpp"
#include "fovea/ops/batchnorm/backward.hpp"
#include "fovea/ops/conv2d/backward.hpp"
#include "fovea/ops/pool2d/backward.hpp"

using namespace fovea;

namespace {

// max |a − b| / max(1, |b|), the errors of values near zero measured absolutely.
template <class A, class B>
double worst_relative_error(const Tensor<A>& a, const Tensor<B>& b) {
  REQUIRE(a.shape() == b.shape());
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double exact = double(b[i]);
    worst = std::max(worst, std::abs(double(a[i]) - exact) / std::max(1.0, std::abs(exact)));
  }
  return worst;
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

Tensor<float> uniform(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
  return Tensor<float>(s).fill_uniform(seed, lo, hi);
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("batchnorm training forward matches the reference") {
    // Values around 3 with spread 2: a mean far from zero tests the two-pass variance.
    const Tensor<float> x = uniform({5, 7, 6, 9}, 1, 1, 5);
    const Tensor<float> gamma = uniform({7}, 2, 0.5, 1.5), beta = uniform({7}, 3);
    const BatchNormTraining<float> fast = batchnorm_training(x, gamma, beta, 1e-5);
    const BatchStatistics<double> stats = batch_statistics_reference(x.cast<double>());
    CHECK(fast.statistics.count == 5 * 6 * 9);
    CHECK(worst_relative_error(fast.statistics.mean, stats.mean) < 1e-6);
    CHECK(worst_relative_error(fast.statistics.var, stats.var) < 1e-6);
    const Tensor<double> ref = batchnorm_training_reference(x.cast<double>(), gamma.cast<double>(),
                                                            beta.cast<double>(), 1e-5);
    CHECK(worst_relative_error(fast.output, ref) < 1e-4);
  }

  TEST_CASE("batchnorm training forward of a hand-checked channel") {
    // One channel holding 1, 3 (N = 2, 1×1): mean 2, biased variance 1, so with eps 0,
    // gamma 2 and beta 0.5 the outputs are 2·(−1) + 0.5 = −1.5 and 2·1 + 0.5 = 2.5.
    Tensor<float> x(Shape{2, 1, 1, 1});
    x[0] = 1, x[1] = 3;
    const Tensor<float> gamma = Tensor<float>(Shape{1}).fill(2),
                        beta = Tensor<float>(Shape{1}).fill(0.5f);
    const BatchNormTraining<float> r = batchnorm_training(x, gamma, beta, 0);
    CHECK(r.statistics.mean[0] == 2);
    CHECK(r.statistics.var[0] == 1);
    CHECK(r.output[0] == -1.5f);
    CHECK(r.output[1] == 2.5f);
  }

  TEST_CASE("batchnorm training backward matches the reference") {
    const Tensor<float> x = uniform({4, 6, 5, 11}, 4, -2, 6);
    const Tensor<float> gamma = uniform({6}, 5, 0.5, 1.5), beta = uniform({6}, 6);
    const Tensor<float> gy = uniform(x.shape(), 7);
    const BatchStatistics<float> s = batch_statistics_reference(x);
    const BatchNormGradients<float> fast =
        batchnorm_training_backward(x, gamma, s.mean, s.var, 1e-5, gy);
    const BatchNormGradients<double> ref = batchnorm_training_backward_reference(
        x.cast<double>(), gamma.cast<double>(), s.mean.cast<double>(), s.var.cast<double>(), 1e-5,
        gy.cast<double>());
    CHECK(worst_relative_error(fast.input, ref.input) < 1e-4);
    CHECK(worst_relative_error(fast.weight, ref.weight) < 1e-4);
    CHECK(worst_relative_error(fast.bias, ref.bias) < 1e-4);
  }

  TEST_CASE("relu backward gives the reference's bits") {
    Tensor<float> x = uniform({3, 4, 7, 9}, 8);
    x[0] = 0;  // the kink: derivative 0, as in torch
    const Tensor<float> gy = uniform(x.shape(), 9);
    const Tensor<float> fast = activation_backward(x, gy, ActivationKind::relu);
    CHECK(same_bits(fast, activation_backward_reference(x, gy, ActivationKind::relu)));
    CHECK(fast[0] == 0);
    // Other kinds go to the reference.
    CHECK(same_bits(activation_backward(x, gy, ActivationKind::silu),
                    activation_backward_reference(x, gy, ActivationKind::silu)));
  }

  TEST_CASE("max_pool2d backward matches the reference") {
    Pool2dAttrs lenet;  // 2×2 stride 2: windows do not overlap, so the bits are the reference's
    lenet.kernel_h = lenet.kernel_w = lenet.stride_h = lenet.stride_w = 2;
    const Tensor<float> x = uniform({3, 4, 10, 10}, 18);
    const Tensor<float> gy = uniform({3, 4, 5, 5}, 19);
    CHECK(
        same_bits(max_pool2d_backward(x, gy, lenet), max_pool2d_backward_reference(x, gy, lenet)));
    Pool2dAttrs overlapping;  // 3×3 stride 2 pad 1 (ResNet's stem): shared inputs sum two values
    overlapping.kernel_h = overlapping.kernel_w = 3;
    overlapping.stride_h = overlapping.stride_w = 2;
    overlapping.pad_top = overlapping.pad_left = overlapping.pad_bottom = overlapping.pad_right = 1;
    const Tensor<float> gy2 = uniform({3, 4, 5, 5}, 20);
    CHECK(worst_relative_error(max_pool2d_backward(x, gy2, overlapping),
                               max_pool2d_backward_reference(x.cast<double>(), gy2.cast<double>(),
                                                             overlapping)) < 1e-6);
    // A hand-checked window: the maximum 5 of (1, 5; 3, 2) takes the whole gradient 7.
    Tensor<float> one(Shape{1, 1, 2, 2});
    one[0] = 1, one[1] = 5, one[2] = 3, one[3] = 2;
    const Tensor<float> g =
        max_pool2d_backward(one, Tensor<float>(Shape{1, 1, 1, 1}).fill(7), lenet);
    CHECK(g[0] == 0);
    CHECK(g[1] == 7);
    CHECK(g[2] == 0);
    CHECK(g[3] == 0);
  }

  TEST_CASE("conv2d backward matches the reference on the conv and col2im paths") {
    struct Case {
      Shape input, weight;
      Conv2dAttrs attrs;
    };
    Conv2dAttrs asymmetric = Conv2dAttrs::make(1, 0);
    asymmetric.pad_top = 2, asymmetric.pad_left = 1, asymmetric.pad_right = 2;
    const Conv2dAttrs grouped_dilated = Conv2dAttrs::make(1, 2, 2, 3);
    const Case cases[] = {
        {{9, 16, 8, 8}, {16, 16, 3, 3}, Conv2dAttrs::make(1, 1)},  // ResNet's 3×3: dx by conv
        {{3, 5, 7, 6}, {7, 5, 3, 3}, asymmetric},                  // dx by conv, uneven padding
        {{2, 24, 5, 5}, {13, 24, 1, 1}, Conv2dAttrs{}},            // 1×1, many weight rows
        {{2, 3, 6, 6}, {4, 3, 3, 3}, Conv2dAttrs::make(1, 3)},     // padding > R − 1: col2im
        {{40, 3, 4, 4}, {5, 3, 3, 3}, Conv2dAttrs::make(2, 1)},    // several image steps
        {{5, 6, 9, 7}, {9, 2, 3, 3}, grouped_dilated},             // groups, dilation: col2im
        {{7, 17, 5, 9}, {3, 17, 2, 3}, Conv2dAttrs::make(1, 1)},   // 45 pixels: vector tails
    };
    for (const Case& c : cases) {
      CAPTURE(c.input);
      CAPTURE(c.weight);
      const Tensor<float> x = uniform(c.input, 10), w = uniform(c.weight, 11);
      const Conv2dParams cp = Conv2dParams::make(c.input, c.weight, c.attrs);
      const Tensor<float> gy = uniform(cp.output_shape(), 12);
      const Conv2dGradients<float> fast = conv2d_backward(x, w, gy, c.attrs, true);
      const Conv2dGradients<double> ref = conv2d_backward_reference(
          x.cast<double>(), w.cast<double>(), gy.cast<double>(), c.attrs, true);
      CHECK(worst_relative_error(fast.input, ref.input) < 1e-4);
      CHECK(worst_relative_error(fast.weight, ref.weight) < 1e-4);
      CHECK(worst_relative_error(fast.bias, ref.bias) < 1e-4);
    }
  }

  TEST_CASE("training kernels give the same bits on 1 and 2 threads") {
    const Tensor<float> x = uniform({6, 16, 10, 10}, 13), w = uniform({16, 16, 3, 3}, 14);
    const Tensor<float> gy = uniform(x.shape(), 15), gamma = uniform({16}, 16);
    const Conv2dAttrs same = Conv2dAttrs::make(1, 1), strided = Conv2dAttrs::make(2, 1);
    const Tensor<float> gy_strided = uniform({6, 16, 5, 5}, 17);
    const auto run = [&](int threads) {
      set_num_threads(threads);
      const Conv2dGradients<float> a = conv2d_backward(x, w, gy, same, false);
      const Conv2dGradients<float> b = conv2d_backward(x, w, gy_strided, strided, false);
      const BatchNormTraining<float> f = batchnorm_training(x, gamma, gamma, 1e-5);
      const BatchNormGradients<float> g =
          batchnorm_training_backward(x, gamma, f.statistics.mean, f.statistics.var, 1e-5, gy);
      return std::vector<Tensor<float>>{a.input,  a.weight, b.input, b.weight,
                                        f.output, g.input,  g.weight};
    };
    const int before = num_threads();
    const std::vector<Tensor<float>> one = run(1), two = run(2);
    set_num_threads(before);
    for (size_t i = 0; i < one.size(); ++i) {
      CAPTURE(i);
      CHECK(same_bits(one[i], two[i]));
    }
  }
}
