// CUDA squeeze-and-excitation against the host reference.
#include <doctest/doctest.h>

#include <sstream>

#include "cuda_test_util.hpp"
#include "fovea/cuda/squeeze_excitation.hpp"
#include "fovea/ops/attention/reference.hpp"

using namespace fovea;

namespace {

// EfficientNet's SE (SiLU, sigmoid) and MobileNetV3's (ReLU, hardsigmoid) on random data.
// Weights are drawn in [-1/fan_in, 1/fan_in], so every weight row sums to at most 1 in absolute
// value and errors pass through each layer without growing; that keeps the bound below tight.
template <class T>
void check_se(const Shape& shape, int64_t squeeze, ActivationKind act, ActivationKind scale_act,
              uint64_t seed) {
  Rng rng(seed);
  const int64_t c = shape[1];
  const Tensor<T> x = test::random_tensor<T>(shape, Layout::nhwc, rng);
  const double c_range = 1.0 / static_cast<double>(c), s_range = 1.0 / static_cast<double>(squeeze);
  const Tensor<T> w1 =
      test::random_tensor<T>(Shape{squeeze, c, 1, 1}, Layout::nchw, rng, -c_range, c_range);
  const Tensor<T> b1 = test::random_tensor<T>(Shape{squeeze}, Layout::nchw, rng);
  const Tensor<T> w2 =
      test::random_tensor<T>(Shape{c, squeeze, 1, 1}, Layout::nchw, rng, -s_range, s_range);
  const Tensor<T> b2 = test::random_tensor<T>(Shape{c}, Layout::nchw, rng);
  const Tensor<double> want = squeeze_excitation_reference(
      x.template cast<double>(), w1.template cast<double>(), b1.template cast<double>(),
      w2.template cast<double>(), b2.template cast<double>(), act, scale_act);
  const Tensor<T> got =
      cuda::squeeze_excitation(test::upload(x), test::upload(w1.reshape(Shape{squeeze, c})),
                               test::upload(b1), test::upload(w2.reshape(Shape{c, squeeze})),
                               test::upload(b2), act, scale_act)
          .to_host();
  // Error of each stage relative to max |x| = 1: the pooled mean (|mean| <= 1); fc1's output
  // (|pre-activation| <= 1 + |bias| <= 2); fc2's (|hidden| <= 2, so |pre-activation| <= 3);
  // the scale, through a slope of at most 1/4 (sigmoid; hardsigmoid's is 1/6) and one rounding.
  const double u = test::kUnitRoundoff<T>;
  const double pooled = test::float_sum_bound<T>(shape[2] * shape[3]);
  const double hidden = pooled + 2 * test::tensor_core_bound<T>(c + 1);
  const double pre_scale = hidden + 3 * test::tensor_core_bound<T>(squeeze + 1);
  const double scale = 0.25 * pre_scale + u;
  std::ostringstream context;
  context << dtype_name(dtype_of<T>) << " squeeze_excitation " << shape << " squeeze " << squeeze
          << " " << activation_name(act) << "/" << activation_name(scale_act) << " seed " << seed;
  // y = x * scale rounds once more; the factor 2 covers SiLU's slope (up to 1.1) in fc1.
  test::check_within_bound(got, want, test::abs_double(x), 2 * (scale + u), context.str());
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cuda squeeze_excitation: randomized blocks match the host reference") {
    if (test::skip_without_cuda_device()) return;
    check_se<float>(Shape{2, 40, 7, 5}, 10, ActivationKind::silu, ActivationKind::sigmoid, 91);
    check_se<half>(Shape{3, 96, 14, 14}, 4, ActivationKind::silu, ActivationKind::sigmoid, 92);
    check_se<bfloat16>(Shape{1, 72, 9, 11}, 24, ActivationKind::relu, ActivationKind::hardsigmoid,
                       93);
  }
}
