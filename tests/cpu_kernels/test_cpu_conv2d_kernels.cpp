// Every CPU conv2d kernel against the reference, over hand-picked real layers and seeded random
// problems (odd sizes, strides 1-3, asymmetric padding, dilation, groups, depthwise), with and
// without the fused epilogue; plus kernel choice, the reference-only policy and thread-count
// determinism.
#include <doctest/doctest.h>

#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/core/rng.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"
#include "harness/compare.hpp"

namespace {

using fovea::Conv2dAttrs;
using fovea::Conv2dEpilogue;
using fovea::Shape;
using fovea::Tensor;

struct ConvCase {
  int64_t n, c, h, w, k, r, s;
  Conv2dAttrs attrs;

  std::string str() const {
    std::ostringstream out;
    const Conv2dAttrs& a = attrs;
    out << "N=" << n << " C=" << c << " H=" << h << " W=" << w << " K=" << k << " R=" << r
        << " S=" << s << " stride=" << a.stride_h << "x" << a.stride_w << " pad=" << a.pad_top
        << "," << a.pad_left << "," << a.pad_bottom << "," << a.pad_right
        << " dilation=" << a.dilation_h << "x" << a.dilation_w << " groups=" << a.groups;
    return out.str();
  }
};

ConvCase square(int64_t n, int64_t c, int64_t hw, int64_t k, int64_t rs, int64_t stride,
                int64_t pad, int64_t dilation = 1, int64_t groups = 1) {
  return {n, c, hw, hw, k, rs, rs, Conv2dAttrs::make(stride, pad, dilation, groups)};
}

// Real ResNet-50 and MobileNetV2 layers at small spatial sizes, and awkward corners.
std::vector<ConvCase> named_cases() {
  return {
      square(1, 3, 32, 64, 7, 2, 3),            // resnet50 conv1
      square(1, 64, 8, 64, 1, 1, 0),            // layer1 conv1
      square(1, 64, 8, 64, 3, 1, 1),            // layer1 conv2
      square(1, 64, 8, 256, 1, 1, 0),           // layer1 conv3
      square(2, 128, 9, 128, 3, 2, 1),          // layer2 conv2, stride 2, batch 2
      square(1, 256, 8, 512, 1, 2, 0),          // layer2 downsample
      square(1, 512, 4, 2048, 1, 1, 0),         // layer4 conv3
      square(1, 32, 12, 32, 3, 1, 1, 1, 32),    // mobilenet_v2 depthwise
      square(2, 144, 9, 144, 3, 2, 1, 1, 144),  // mobilenet_v2 depthwise stride 2
      square(1, 16, 10, 96, 1, 1, 0),           // mobilenet_v2 expand
      square(1, 96, 10, 24, 1, 1, 0),           // mobilenet_v2 project
      square(1, 40, 9, 40, 5, 2, 2, 1, 40),     // efficientnet 5x5 depthwise
      square(1, 20, 60, 20, 3, 1, 1, 1, 20),    // depthwise planes past 56 x 56
      square(1, 1, 1, 1, 1, 1, 0),              // 1x1x1x1
      square(1, 17, 5, 19, 1, 1, 0),            // channels not a multiple of 16
      square(3, 6, 11, 10, 3, 3, 2, 2, 2),      // stride 3, dilation 2, groups 2
      square(1, 64, 24, 64, 3, 1, 1),           // resnet layer1 conv2 (Winograd F(4×4))
      square(1, 256, 8, 256, 3, 1, 1),          // resnet layer4 conv2 (Winograd F(2×2))
      square(2, 130, 9, 129, 3, 1, 1),          // Winograd with odd output size, batch 2
      {1, 128, 9, 9, 131, 3, 3, {1, 1, 2, 0, 1, 0, 1, 1, 1}},  // Winograd, asymmetric padding
      square(2, 96, 17, 80, 3, 1, 1),  // F(4×4): partial last tiles, batch 2, K not a lane multiple
      {1, 72, 15, 22, 65, 3, 3, {1, 1, 0, 2, 1, 0, 1, 1, 1}},  // F(4×4), non-square, asymmetric
      {1, 64, 16, 13, 64, 3, 3, {1, 1, 2, 1, 2, 1, 1, 1, 1}},  // F(4×4), output larger than input
      square(1, 256, 14, 128, 3, 1, 1),  // resnet layer3 conv2 depth (F(4×4))
      square(2, 300, 20, 40, 1, 1, 0),   // two K blocks over several NHWC row chunks
      {1, 45, 11, 9, 33, 5, 5, {1, 1, 2, 2, 2, 2, 1, 1, 1}},  // NHWC direct: uneven channel blocks
      square(1, 32, 20, 32, 5, 1, 2, 1, 32),  // 5×5 stride-1 depthwise, whole channel vectors
      square(2, 48, 13, 48, 3, 1, 1, 1, 48),  // 3×3 stride-1 depthwise, whole channel vectors
      // 5×5 stride-2 depthwise, non-square, rows long enough for whole 8-pixel interior blocks
      {2, 40, 11, 37, 40, 5, 5, Conv2dAttrs::make(2, 2, 1, 40)},
  };
}

ConvCase random_case(fovea::Rng& rng) {
  const auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
  };
  ConvCase cc;
  Conv2dAttrs& a = cc.attrs;
  const int64_t kind = pick(0, 2);  // 0 dense, 1 grouped, 2 depthwise
  // A depthwise conv has a few channels or several vectors of them (and a ragged last one): the
  // NHWC kernel runs edge pixels four vectors at a time.
  a.groups = kind == 0 ? 1 : kind == 2 && pick(0, 1) == 1 ? pick(30, 70) : pick(2, 5);
  cc.c = kind == 2 ? a.groups : a.groups * pick(1, 9);
  cc.k = kind == 2 ? a.groups : a.groups * pick(1, 21);
  cc.n = pick(1, 5);  // 4 and 5 give each of two threads whole images
  cc.r = pick(1, 5);
  cc.s = pick(1, 5);
  a.stride_h = pick(1, 3);
  a.stride_w = pick(1, 3);
  a.dilation_h = pick(1, 2);
  a.dilation_w = pick(1, 2);
  a.pad_top = pick(0, 2), a.pad_bottom = pick(0, 2), a.pad_left = pick(0, 2);
  a.pad_right = pick(0, 2);
  // Large enough for the dilated kernel once padded.
  cc.h = std::max<int64_t>(pick(1, 19), a.dilation_h * (cc.r - 1) + 1);
  cc.w = std::max<int64_t>(pick(1, 23), a.dilation_w * (cc.s - 1) + 1);
  return cc;
}

struct ConvData {
  Tensor<float> x, weight, bias, residual;
};

ConvData make_data(const ConvCase& cc, uint64_t seed) {
  const fovea::Conv2dParams cp = fovea::Conv2dParams::make(
      Shape{cc.n, cc.c, cc.h, cc.w}, Shape{cc.k, cc.c / cc.attrs.groups, cc.r, cc.s}, cc.attrs);
  ConvData d{Tensor<float>(cp.input_shape()), Tensor<float>(cp.weight_shape()),
             Tensor<float>(Shape{cc.k}), Tensor<float>(cp.output_shape())};
  fovea::Rng rng(seed);
  d.x.fill_uniform(rng, -1, 1);
  d.weight.fill_uniform(rng, -1, 1);
  d.bias.fill_uniform(rng, -1, 1);
  d.residual.fill_uniform(rng, -1, 1);
  return d;
}

// Runs every kernel that supports the case, in each layout, with each epilogue, against the
// reference (computed channels first). Every case has a channels-first kernel, and an NHWC one
// when it is ungrouped or depthwise. Returns how many kernels ran.
int check_all_kernels(const ConvCase& cc, uint64_t seed) {
  const ConvData d = make_data(cc, seed);
  const fovea::Conv2dParams cp = fovea::Conv2dParams::make(d.x.shape(), d.weight.shape(), cc.attrs);
  // hardswish has no vector form: the kernels apply it lane by lane after storing.
  const fovea::ActivationKind acts[] = {
      fovea::ActivationKind::identity, fovea::ActivationKind::relu, fovea::ActivationKind::silu,
      fovea::ActivationKind::relu6, fovea::ActivationKind::hardswish};
  const bool with_residual[] = {false, true, false, false, true};
  // The tolerance is relative to the scale of the convolution itself: its largest output before
  // the activation, without and with the residual. After relu6 the largest value is at most 6
  // whatever the sum was, while the kernel's rounding is that of the sum.
  double scale[2];
  for (int r = 0; r < 2; ++r) {
    const Conv2dEpilogue e{fovea::ActivationKind::identity, r == 1 ? &d.residual : nullptr};
    scale[r] =
        fovea::test::max_abs(fovea::conv2d_fused_reference(d.x, d.weight, d.bias, cc.attrs, e));
  }
  int ran = 0;
  for (const fovea::Layout layout : {fovea::Layout::nchw, fovea::Layout::nhwc}) {
    const int ran_before = ran;
    const Tensor<float> x = d.x.to_layout(layout), residual = d.residual.to_layout(layout);
    for (const auto& kernel : fovea::cpu::conv2d_kernels()) {
      if (!kernel.supports(fovea::Conv2dProblem{cp, layout, layout})) continue;
      ++ran;
      const auto packed = kernel.run.prepare ? kernel.run.prepare(d.weight, cp) : nullptr;
      for (size_t i = 0; i < std::size(acts); ++i) {
        const Conv2dEpilogue want_e{acts[i], with_residual[i] ? &d.residual : nullptr};
        const Conv2dEpilogue got_e{acts[i], with_residual[i] ? &residual : nullptr};
        const Tensor<float> want =
            fovea::conv2d_fused_reference(d.x, d.weight, d.bias, cc.attrs, want_e);
        const Tensor<float> got =
            kernel.run.run(fovea::Conv2dCall{x, d.weight, d.bias, cp, got_e, packed.get()});
        INFO("kernel=", kernel.name, " ", cc.str(), " seed=", seed,
             " act=", fovea::activation_name(acts[i]), " residual=", with_residual[i]);
        CHECK(got.layout() == layout);
        CHECK(fovea::test::max_error_relative_to(got, want, scale[with_residual[i] ? 1 : 0]) <=
              1e-4);
      }
    }
    const bool has_kernel =
        layout == fovea::Layout::nchw || cp.groups() == 1 || (cp.groups() == cp.c && cp.k == cp.c);
    INFO(cc.str(), " layout=", fovea::layout_name(layout));
    if (has_kernel) CHECK(ran > ran_before);
  }
  return ran;
}

}  // namespace

TEST_SUITE("cpu") {
#ifdef FOVEA_EXPECT_ISA
  TEST_CASE("this variant compiled the SIMD path it is named after") {
    CHECK(std::string(fovea::cpu::kIsaName) == FOVEA_EXPECT_ISA);
  }
#endif

  TEST_CASE("conv2d kernels match the reference on real layers") {
    uint64_t seed = 100;
    for (const ConvCase& cc : named_cases()) {
      INFO(cc.str());
      CHECK(check_all_kernels(cc, seed++) >= 1);
    }
  }

  TEST_CASE("conv2d kernels match the reference on random problems") {
    const uint64_t seed = 20261129;
    fovea::Rng rng(seed);
    for (int i = 0; i < 60; ++i) {
      const ConvCase cc = random_case(rng);
      INFO("case ", i, " of stream seed ", seed, ": ", cc.str());
      CHECK(check_all_kernels(cc, seed + static_cast<uint64_t>(i)) >= 1);
    }
  }

  TEST_CASE("conv2d by hand with a fused bias residual and relu") {
    // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 0], [0, -1]]: x[i][j] - x[i+1][j+1] = -4
    // everywhere; + bias 1 = -3; + residual [[0, 5], [3, 10]] = [[-3, 2], [0, 7]]; relu.
    Tensor<float> x(Shape{1, 1, 3, 3});
    for (int i = 0; i < 9; ++i)
      x[i] = static_cast<float>(i + 1);
    Tensor<float> w(Shape{1, 1, 2, 2});
    w[0] = 1, w[3] = -1;
    Tensor<float> b = Tensor<float>(Shape{1}).fill(1);
    Tensor<float> residual(Shape{1, 1, 2, 2});
    residual[1] = 5, residual[2] = 3, residual[3] = 10;
    const Tensor<float> y = fovea::conv2d_fused(
        x, w, b, Conv2dAttrs{}, Conv2dEpilogue{fovea::ActivationKind::relu, &residual});
    // One channel in and out with groups 1 is also depthwise.
    CHECK(fovea::last_kernel("conv2d") ==
          std::string("conv2d_f32_nchw_depthwise_channels_") + fovea::cpu::kIsaName);
    CHECK(y[0] == 0);
    CHECK(y[1] == 2);
    CHECK(y[2] == 0);
    CHECK(y[3] == 7);
  }

  TEST_CASE("conv2d picks the kernel for the problem and honours the reference policy") {
    const std::string isa = fovea::cpu::kIsaName;
    const auto run = [](const ConvCase& cc) {
      const ConvData d = make_data(cc, 1);
      return fovea::conv2d(d.x, d.weight, d.bias, cc.attrs);
    };
    run(square(1, 8, 5, 4, 1, 1, 0));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nchw_pointwise_gemm_" + isa);
    run(square(1, 8, 5, 8, 3, 1, 1, 1, 8));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nchw_depthwise_channels_" + isa);
    run(square(1, 8, 57, 8, 3, 1, 1, 1, 8));  // planes past 56 × 56
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nchw_depthwise_direct_" + isa);
    run(square(1, 8, 5, 4, 1, 2, 0));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nchw_im2col_gemm_" + isa);
    const std::string winograd2 = "conv2d_f32_nchw_winograd_f2x3_gemm_" + isa;
    const std::string winograd4 = "conv2d_f32_nchw_winograd_f4x3_gemm_" + isa;
    const std::string direct = "conv2d_f32_nchw_direct_" + isa;
    const std::string im2col = "conv2d_f32_nchw_im2col_gemm_" + isa;
    // The Winograd cases of named_cases() must really take the Winograd kernel they test.
    run(square(2, 130, 9, 129, 3, 1, 1));  // 9 F(4×4) tiles: too few
    CHECK(fovea::last_kernel("conv2d") == winograd2);
    run(ConvCase{1, 128, 9, 9, 131, 3, 3, {1, 1, 2, 0, 1, 0, 1, 1, 1}});
    CHECK(fovea::last_kernel("conv2d") == winograd2);
    run(square(1, 256, 8, 256, 3, 1, 1));
    CHECK(fovea::last_kernel("conv2d") == winograd2);
    run(square(1, 64, 24, 64, 3, 1, 1));
    CHECK(fovea::last_kernel("conv2d") == winograd4);
    run(square(2, 96, 17, 80, 3, 1, 1));
    CHECK(fovea::last_kernel("conv2d") == winograd4);
    run(ConvCase{1, 72, 15, 22, 65, 3, 3, {1, 1, 0, 2, 1, 0, 1, 1, 1}});
    CHECK(fovea::last_kernel("conv2d") == winograd4);
    run(ConvCase{1, 64, 16, 13, 64, 3, 3, {1, 1, 2, 1, 2, 1, 1, 1, 1}});
    CHECK(fovea::last_kernel("conv2d") == winograd4);
    run(square(1, 48, 24, 64, 3, 1, 1));  // too few channels for Winograd
    CHECK(fovea::last_kernel("conv2d") == direct);
    run(square(1, 128, 6, 128, 3, 1, 1));  // too few tiles (9 and 4) for either
    CHECK(fovea::last_kernel("conv2d") == direct);
    run(square(1, 3, 15, 16, 7, 2, 3));  // a stem
    CHECK(fovea::last_kernel("conv2d") == direct);
    run(square(1, 8, 7, 8, 3, 1, 1, 1, 2));  // grouped: only im2col takes it
    CHECK(fovea::last_kernel("conv2d") == im2col);
    fovea::set_kernel_policy(fovea::KernelPolicy::reference_only);
    run(square(1, 8, 5, 4, 1, 1, 0));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_reference");
    fovea::set_kernel_policy(fovea::KernelPolicy::best);
    // NHWC input: the channels-last kernels, and the reference for grouped convs.
    const auto run_nhwc = [](const ConvCase& cc) {
      const ConvData d = make_data(cc, 2);
      const Tensor<float> y =
          fovea::conv2d(d.x.to_layout(fovea::Layout::nhwc), d.weight, d.bias, cc.attrs);
      CHECK(y.layout() == fovea::Layout::nhwc);
    };
    run_nhwc(square(1, 8, 5, 4, 1, 1, 0));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nhwc_pointwise_gemm_" + isa);
    run_nhwc(square(1, 8, 5, 8, 3, 1, 1, 1, 8));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nhwc_depthwise_" + isa);
    run_nhwc(square(1, 4, 5, 4, 3, 1, 1));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nhwc_direct_" + isa);
    run_nhwc(square(1, 8, 5, 4, 1, 2, 0));  // strided 1×1
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nhwc_direct_" + isa);
    run_nhwc(square(1, 64, 24, 64, 3, 1, 1));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nhwc_winograd_f4x3_gemm_" + isa);
    run_nhwc(square(1, 256, 8, 256, 3, 1, 1));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_f32_nhwc_winograd_f2x3_gemm_" + isa);
    run_nhwc(square(1, 8, 7, 8, 3, 1, 1, 1, 2));
    CHECK(fovea::last_kernel("conv2d") == "conv2d_reference");
  }

  TEST_CASE("conv2d kernels give identical bits on one and two threads") {
    const ConvCase cases[] = {
        square(1, 64, 14, 128, 3, 1, 1),       square(2, 96, 13, 200, 1, 1, 0),
        square(1, 48, 17, 48, 3, 2, 1, 1, 48), square(1, 128, 10, 136, 3, 1, 1),
        square(5, 16, 11, 20, 3, 1, 1),        square(6, 24, 9, 8, 1, 1, 0)};
    for (const ConvCase& cc : cases) {
      for (const fovea::Layout layout : {fovea::Layout::nchw, fovea::Layout::nhwc}) {
        const ConvData d = make_data(cc, 3);
        const Tensor<float> x = d.x.to_layout(layout);
        const Conv2dEpilogue e{fovea::ActivationKind::relu, nullptr};
        fovea::set_num_threads(1);
        const Tensor<float> one = fovea::conv2d_fused(x, d.weight, d.bias, cc.attrs, e);
        fovea::set_num_threads(2);
        const Tensor<float> two = fovea::conv2d_fused(x, d.weight, d.bias, cc.attrs, e);
        INFO(cc.str(), " kernel=", fovea::last_kernel("conv2d"));
        CHECK(fovea::test::max_abs_error(one, two) == 0);
      }
    }
  }
}
