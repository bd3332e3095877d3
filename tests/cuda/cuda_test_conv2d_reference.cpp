// The naive device reference conv, checked bit for bit against the host reference, and then
// used as the oracle for the tensor-core kernels on layer shapes too large for the host loops.
#include <doctest/doctest.h>

#include "conv_case.hpp"
#include "cuda_test_util.hpp"
#include "fovea/cuda/conv2d.hpp"
#include "fovea/cuda/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;

namespace {

// Both references sum the same products in double in the same order and round once through
// float, so they must agree exactly.
template <class T>
void check_device_reference_exact(const test::ConvCase& cc, uint64_t seed) {
  Rng rng(seed);
  const Conv2dParams cp = Conv2dParams::make(cc.input, cc.weight, cc.attrs);
  const Tensor<T> x = test::random_tensor<T>(cc.input, Layout::nhwc, rng);
  const Tensor<T> w = test::random_tensor<T>(cc.weight, Layout::nchw, rng);
  const Tensor<T> b = test::random_tensor<T>(Shape{cp.k}, Layout::nchw, rng);
  const Tensor<T> want = conv2d_reference(x, w, b, cc.attrs);
  const auto db = test::upload(b);
  const Tensor<T> got = cuda::conv2d_reference_device(
                            test::upload(x), test::upload(cuda::weight_to_krsc(w)), &db, cc.attrs)
                            .to_host();
  CHECK_MESSAGE(test::max_abs_error(got, want) == 0.0, test::describe(cc, dtype_of<T>, seed));
}

// A layer shape checked with the device reference: the bound's magnitude is the device
// reference run on |x| and |w| in float (its double sums rounded once to float lose 2^-24
// relative, far inside the bound).
template <class T>
void check_against_device_reference(const Shape& input, const Shape& weight,
                                    const Conv2dAttrs& attrs, uint64_t seed) {
  Rng rng(seed);
  const Tensor<T> x = test::random_tensor<T>(input, Layout::nhwc, rng);
  const Tensor<T> w = test::random_tensor<T>(weight, Layout::nchw, rng);
  const Conv2dParams cp = Conv2dParams::make(input, weight, attrs);
  const auto dx = test::upload(x);
  const auto dw = test::upload(cuda::weight_to_krsc(w));
  const Tensor<T> got = cuda::conv2d(dx, dw, attrs).to_host();
  const Tensor<double> want =
      cuda::conv2d_reference_device(test::upload(x.template cast<float>()),
                                    test::upload(cuda::weight_to_krsc(w.template cast<float>())),
                                    nullptr, attrs)
          .to_host()
          .template cast<double>();
  Tensor<float> abs_x = x.template cast<float>(), abs_w = w.template cast<float>();
  for (float& v : abs_x)
    v = std::abs(v);
  for (float& v : abs_w)
    v = std::abs(v);
  const Tensor<double> magnitude =
      cuda::conv2d_reference_device(test::upload(abs_x), test::upload(cuda::weight_to_krsc(abs_w)),
                                    nullptr, attrs)
          .to_host()
          .template cast<double>();
  test::ConvCase cc{input, weight, attrs};
  // The float reference itself is within 2^-24 of the exact sum: add it to the bound.
  const double relative = test::tensor_core_bound<T>(cp.c_per_group() * cp.r * cp.s) + 0x1.0p-24;
  test::check_within_bound(got, want, magnitude, relative, test::describe(cc, dtype_of<T>, seed));
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cuda reference conv2d: equals the host reference bit for bit") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(404);
    for (uint64_t i = 0; i < 12; ++i) {
      const test::ConvCase cc = test::random_conv_case(rng);
      check_device_reference_exact<float>(cc, 4000 + i);
      check_device_reference_exact<half>(cc, 4100 + i);
      check_device_reference_exact<bfloat16>(cc, 4200 + i);
    }
  }

  TEST_CASE("cuda conv2d: ResNet-50 and MobileNetV2 layer shapes against the device reference") {
    if (test::skip_without_cuda_device()) return;
    // conv1 (C = 3: element loads, 7x7 stride 2), a 3x3 bottleneck conv, a strided 1x1
    // projection, a late 3x3 conv, and a MobileNetV2 depthwise layer; batch 4.
    check_against_device_reference<half>({4, 3, 224, 224}, {64, 3, 7, 7}, Conv2dAttrs::make(2, 3),
                                         1);
    check_against_device_reference<half>({4, 64, 56, 56}, {64, 64, 3, 3}, Conv2dAttrs::make(1, 1),
                                         2);
    check_against_device_reference<bfloat16>({4, 1024, 14, 14}, {2048, 1024, 1, 1},
                                             Conv2dAttrs::make(2, 0), 3);
    check_against_device_reference<float>({4, 512, 7, 7}, {512, 512, 3, 3}, Conv2dAttrs::make(1, 1),
                                          4);
    check_against_device_reference<half>({4, 144, 56, 56}, {144, 1, 3, 3},
                                         Conv2dAttrs::make(2, 1, 1, 144), 5);
  }
}
