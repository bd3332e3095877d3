// CUDA linear (GEMM on the implicit-GEMM kernel) and softmax against the host references.
#include <doctest/doctest.h>

#include <sstream>

#include "conv_case.hpp"
#include "cuda_test_util.hpp"
#include "fovea/cuda/linear.hpp"
#include "fovea/cuda/softmax.hpp"
#include "fovea/ops/linear/reference.hpp"
#include "fovea/ops/softmax/reference.hpp"

using namespace fovea;

namespace {

template <class T>
void check_linear(int64_t n, int64_t in, int64_t out, bool with_bias, ActivationKind act,
                  uint64_t seed) {
  Rng rng(seed);
  const Tensor<T> x = test::random_tensor<T>(Shape{n, in}, Layout::nchw, rng);
  const Tensor<T> w = test::random_tensor<T>(Shape{out, in}, Layout::nchw, rng);
  const Tensor<T> b =
      with_bias ? test::random_tensor<T>(Shape{out}, Layout::nchw, rng) : Tensor<T>();
  const Tensor<double> no_bias;
  const Tensor<double> want =
      activation_reference(linear_reference(x.template cast<double>(), w.template cast<double>(),
                                            with_bias ? b.template cast<double>() : no_bias),
                           act);
  const Tensor<double> magnitude = linear_reference(test::abs_double(x), test::abs_double(w),
                                                    with_bias ? test::abs_double(b) : no_bias);
  const auto db = test::upload(b);
  const Tensor<T> got =
      cuda::linear(test::upload(x), test::upload(w), with_bias ? &db : nullptr, act).to_host();
  std::ostringstream context;
  context << dtype_name(dtype_of<T>) << " linear " << n << "x" << in << " -> " << out << " bias "
          << with_bias << " " << activation_name(act) << " seed " << seed;
  test::check_within_bound(got, want, magnitude, test::tensor_core_bound<T>(in + 1), context.str());
}

template <class T>
void check_softmax(const Shape& shape, Layout layout, int axis, uint64_t seed) {
  Rng rng(seed);
  // Logits spread over [-8, 8) so the exponentials cover several orders of magnitude.
  const Tensor<T> x = test::random_tensor<T>(shape, layout, rng, -8, 8);
  const Tensor<T> got = cuda::softmax(test::upload(x), axis).to_host();
  const Tensor<double> want = softmax_reference(x.template cast<double>(), axis);
  // Each output is a ratio: expf's few ulps and the float sum's L * 2^-23 relative error, held
  // against the output itself.
  Tensor<double> magnitude = want.clone();
  for (double& v : magnitude)
    v = std::abs(v);
  const int64_t length = shape[axis < 0 ? axis + shape.rank() : axis];
  std::ostringstream context;
  context << dtype_name(dtype_of<T>) << " softmax of " << shape << " " << layout_name(layout)
          << " axis " << axis;
  test::check_within_bound(got, want, magnitude, test::float_sum_bound<T>(length) + 8 * 0x1.0p-24,
                           context.str());
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cuda linear: hand-checked 2x3 times 3x2 with bias") {
    if (test::skip_without_cuda_device()) return;
    // x = [[1, 2, 3], [4, 5, 6]], w = [[1, 0, -1], [2, 1, 0]], b = [10, -20]:
    // y = [[1 - 3 + 10, 2 + 2 - 20], [4 - 6 + 10, 8 + 5 - 20]] = [[8, -16], [8, -7]].
    Tensor<half> x(Shape{2, 3}), w(Shape{2, 3}), b(Shape{2});
    const float xv[6] = {1, 2, 3, 4, 5, 6}, wv[6] = {1, 0, -1, 2, 1, 0};
    for (int i = 0; i < 6; ++i)
      x[i] = half(xv[i]), w[i] = half(wv[i]);
    b[0] = half(10.0f), b[1] = half(-20.0f);
    const auto db = test::upload(b);
    const Tensor<half> y = cuda::linear(test::upload(x), test::upload(w), &db).to_host();
    const float want[4] = {8, -16, 8, -7};
    for (int i = 0; i < 4; ++i)
      CHECK(static_cast<float>(y[i]) == want[i]);
  }

  TEST_CASE("cuda linear: randomized sizes match the host reference") {
    if (test::skip_without_cuda_device()) return;
    // Batch 1 and odd batches, feature counts below, at and above the vector width and the
    // 32-deep reduction slice, the 1-feature case (depthwise route) and ResNet-50's classifier.
    struct Size {
      int64_t n, in, out;
    };
    const Size sizes[] = {{1, 1, 7},     {3, 5, 9},    {1, 8, 16},     {7, 33, 65},
                          {17, 64, 129}, {2, 100, 10}, {5, 2048, 1000}};
    uint64_t seed = 70;
    for (const Size& s : sizes) {
      check_linear<float>(s.n, s.in, s.out, true, ActivationKind::identity, seed + 1);
      check_linear<half>(s.n, s.in, s.out, s.n % 2 == 0, ActivationKind::relu, seed + 2);
      check_linear<bfloat16>(s.n, s.in, s.out, true, ActivationKind::silu, seed + 3);
      seed += 3;
    }
  }

  TEST_CASE("cuda softmax: hand-checked line of equal logits and a dominant logit") {
    if (test::skip_without_cuda_device()) return;
    // Row 0: four equal logits give 1/4 each. Row 1: [ln 3, 0, -1000, -1000] exponentiate to
    // [3, 1, 0, 0] (the last two underflow to exactly 0), so the softmax is [3/4, 1/4, 0, 0].
    Tensor<float> x(Shape{2, 4});
    x[4] = std::log(3.0f);
    x[6] = x[7] = -1000.0f;
    const Tensor<float> y = cuda::softmax(test::upload(x), -1).to_host();
    for (int i = 0; i < 4; ++i)
      CHECK(y[i] == doctest::Approx(0.25).epsilon(1e-6));
    CHECK(y[4] == doctest::Approx(0.75).epsilon(1e-6));
    CHECK(y[5] == doctest::Approx(0.25).epsilon(1e-6));
    CHECK(y[6] == 0.0f);
  }

  TEST_CASE("cuda softmax: randomized lines match the host reference") {
    if (test::skip_without_cuda_device()) return;
    check_softmax<float>(Shape{3, 1000}, Layout::nchw, -1, 81);
    check_softmax<half>(Shape{5, 1}, Layout::nchw, 1, 82);
    check_softmax<half>(Shape{2, 3, 1001}, Layout::nchw, 2, 83);
    check_softmax<bfloat16>(Shape{4, 257}, Layout::nchw, -1, 84);
    check_softmax<float>(Shape{2, 10, 3, 5}, Layout::nhwc, 1, 85);  // channels, NHWC
  }

  TEST_CASE("cuda softmax: an axis that is not innermost in memory is rejected") {
    // Empty tensors own no device memory: runs without a device as well.
    const cuda::DeviceTensor<float> x(Shape{0, 10});
    CHECK_THROWS_WITH_AS(cuda::softmax(x, 0), doctest::Contains("innermost memory axis"), Error);
  }
}
