// CUDA conv2d (implicit GEMM on tensor cores, depthwise direct, fused epilogue) against the host
// reference: hand-checked sums, randomized problems per dtype, and validation errors.
#include <doctest/doctest.h>

#include "conv_case.hpp"
#include "cuda_test_util.hpp"
#include "fovea/cuda/conv2d.hpp"

using namespace fovea;
using test::ConvCase;

namespace {

// x[0, c, :, :] = 1..9 in every channel, all-ones 3x3 weights, padding 1: each output is the
// channel count times the sum of the 3x3 neighbourhood (the CPU reference test's numbers), plus
// the bias. Every expected value is an even integer below 512, exact in bf16 as well.
template <class T>
void check_neighbourhood_sums(int64_t channels) {
  Tensor<T> x(Shape{1, channels, 3, 3}, Layout::nhwc);
  for (int64_t c = 0; c < channels; ++c) {
    for (int i = 0; i < 9; ++i)
      x(0, c, i / 3, i % 3) = convert<T>(i + 1);
  }
  const Tensor<T> w = Tensor<T>(Shape{2, channels, 3, 3}).fill(convert<T>(1));
  Tensor<T> b(Shape{2});
  b[0] = convert<T>(2);
  b[1] = convert<T>(-100);
  const auto dx = cuda::DeviceTensor<T>::from_host(x);
  const auto dw = cuda::DeviceTensor<T>::from_host(cuda::weight_to_krsc(w));
  const auto db = cuda::DeviceTensor<T>::from_host(b);
  cuda::Conv2dEpilogue<T> epilogue;
  epilogue.bias = &db;
  epilogue.activation = ActivationKind::relu;
  const Tensor<T> y = cuda::conv2d(dx, dw, Conv2dAttrs::make(1, 1), epilogue).to_host();
  REQUIRE(y.shape() == Shape{1, 2, 3, 3});
  const double sums[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
  for (int i = 0; i < 9; ++i) {
    const double sum = sums[i] * static_cast<double>(channels);
    CHECK(convert<double>(y(0, 0, i / 3, i % 3)) == sum + 2);
    // Channel 1's bias of -100 drives the smaller sums negative, which ReLU clamps to zero.
    CHECK(convert<double>(y(0, 1, i / 3, i % 3)) == std::max(0.0, sum - 100));
  }
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cuda conv2d: hand-checked neighbourhood sums through every kernel path") {
    if (test::skip_without_cuda_device()) return;
    // 1 channel: the depthwise kernel. 3 channels: implicit GEMM with element loads. 8
    // channels: implicit GEMM with 16-byte loads (8 is a multiple of every dtype's vector width).
    for (int64_t channels : {1, 3, 8}) {
      CAPTURE(channels);
      check_neighbourhood_sums<float>(channels);
      check_neighbourhood_sums<half>(channels);
      check_neighbourhood_sums<bfloat16>(channels);
    }
  }

  TEST_CASE("cuda conv2d: randomized problems match the host reference in f32 as tf32") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(101);
    for (uint64_t i = 0; i < 40; ++i)
      test::check_conv_against_host<float>(test::random_conv_case(rng), 1000 + i);
  }

  TEST_CASE("cuda conv2d: randomized problems match the host reference in f16") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(202);
    for (uint64_t i = 0; i < 40; ++i)
      test::check_conv_against_host<half>(test::random_conv_case(rng), 2000 + i);
  }

  TEST_CASE("cuda conv2d: randomized problems match the host reference in bf16") {
    if (test::skip_without_cuda_device()) return;
    Rng rng(303);
    for (uint64_t i = 0; i < 40; ++i)
      test::check_conv_against_host<bfloat16>(test::random_conv_case(rng), 3000 + i);
  }

  TEST_CASE("cuda conv2d: the large tile on a ResNet-like block with residual and ReLU") {
    if (test::skip_without_cuda_device()) return;
    // 2 images of 48x48 = 4608 pixels = 36 row tiles, times 4 column tiles for K = 512: 144
    // blocks, enough for the large tile. 16 channels x 3x3 = 144 = 4.5 reduction slices.
    ConvCase cc;
    cc.input = Shape{2, 16, 48, 48};
    cc.weight = Shape{512, 16, 3, 3};
    cc.attrs = Conv2dAttrs::make(1, 1);
    cc.bias = cc.residual = true;
    cc.activation = ActivationKind::relu;
    const Conv2dParams cp = Conv2dParams::make(cc.input, cc.weight, cc.attrs);
    CHECK(cuda::conv2d_kernel_name(cp, DType::f16) ==
          "conv2d_f16_f32acc_nhwc_implicit_gemm_sm80_128x128x32");
    test::check_conv_against_host<half>(cc, 11);
    test::check_conv_against_host<float>(cc, 12);
  }

  TEST_CASE("cuda conv2d: depthwise MobileNet-style layers with multiplier and dilation") {
    if (test::skip_without_cuda_device()) return;
    ConvCase cc;
    cc.input = Shape{2, 32, 17, 13};
    cc.weight = Shape{32, 1, 3, 3};
    cc.attrs = Conv2dAttrs::make(2, 1, 1, 32);
    cc.bias = true;
    cc.activation = ActivationKind::relu6;
    test::check_conv_against_host<half>(cc, 21);
    cc.weight = Shape{64, 1, 5, 5};  // channel multiplier 2
    cc.attrs = Conv2dAttrs::make(1, 4, 2, 32);
    cc.activation = ActivationKind::silu;
    cc.residual = true;
    test::check_conv_against_host<float>(cc, 22);
    test::check_conv_against_host<bfloat16>(cc, 23);
  }
}

TEST_SUITE("cuda") {
  TEST_CASE("cuda conv2d: kernel names follow the naming scheme") {
    // Pure host logic: runs with or without a device.
    const Conv2dParams small =
        Conv2dParams::make(Shape{1, 16, 8, 8}, Shape{32, 16, 3, 3}, Conv2dAttrs::make(1, 1));
    CHECK(cuda::conv2d_kernel_name(small, DType::f32) ==
          "conv2d_tf32_f32acc_nhwc_implicit_gemm_sm80_64x64x32");
    CHECK(cuda::conv2d_kernel_name(small, DType::bf16) ==
          "conv2d_bf16_f32acc_nhwc_implicit_gemm_sm80_64x64x32");
    const Conv2dParams depthwise =
        Conv2dParams::make(Shape{1, 16, 8, 8}, Shape{16, 1, 3, 3}, Conv2dAttrs::make(1, 1, 1, 16));
    CHECK(cuda::conv2d_kernel_name(depthwise, DType::f16) ==
          "conv2d_f16_f32acc_nhwc_depthwise_direct");
    // 2 * 112 * 112 pixels / 128 = 196 blocks of the large tile: enough to fill 132 SMs.
    const Conv2dParams big =
        Conv2dParams::make(Shape{2, 64, 112, 112}, Shape{64, 64, 1, 1}, Conv2dAttrs{});
    CHECK(cuda::conv2d_kernel_name(big, DType::f16) ==
          "conv2d_f16_f32acc_nhwc_implicit_gemm_sm80_128x128x32");
  }

  TEST_CASE("cuda conv2d: unsupported element types and oversized problems are explained") {
    const Conv2dParams cp =
        Conv2dParams::make(Shape{1, 16, 8, 8}, Shape{32, 16, 3, 3}, Conv2dAttrs::make(1, 1));
    CHECK(cuda::conv2d_unsupported_reason(cp, DType::f16).empty());
    CHECK(cuda::conv2d_unsupported_reason(cp, DType::i8).find("i8") != std::string::npos);
    const Conv2dParams huge =
        Conv2dParams::make(Shape{4096, 64, 512, 512}, Shape{64, 64, 1, 1}, Conv2dAttrs{});
    CHECK(cuda::conv2d_unsupported_reason(huge, DType::f16).find("32-bit index limit") !=
          std::string::npos);
  }

  TEST_CASE("cuda conv2d: an NCHW input is rejected before any device work") {
    // Empty tensors own no device memory, so this runs without a device as well.
    const cuda::DeviceTensor<float> x(Shape{0, 4, 5, 5}, Layout::nchw);
    const cuda::DeviceTensor<float> w(Shape{0, 4, 3, 3}, Layout::nhwc);
    CHECK_THROWS_WITH_AS(cuda::conv2d(x, w, Conv2dAttrs::make(1, 1)),
                         doctest::Contains("NHWC layout"), Error);
    const cuda::DeviceTensor<float> x_nhwc(Shape{0, 4, 5, 5}, Layout::nhwc);
    const cuda::DeviceTensor<float> w_kcrs(Shape{0, 4, 3, 3}, Layout::nchw);
    CHECK_THROWS_WITH_AS(cuda::conv2d(x_nhwc, w_kcrs, Conv2dAttrs::make(1, 1)),
                         doctest::Contains("weight (KRSC)"), Error);
  }
}
