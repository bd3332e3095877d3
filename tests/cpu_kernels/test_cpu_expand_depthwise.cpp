// The fused 1×1 expansion + depthwise conv (+ projection), and depthwise conv + projection
// without expansion (cpu/expand_depthwise_nhwc.hpp), against the convs run one after the other
// (bit for bit) and against the reference, over random shapes, band sizes and thread counts;
// and the choices of nn::expand_depthwise_project and nn::depthwise_project.
#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <string>

#include "fovea/core/rng.hpp"
#include "fovea/cpu/conv2d_depthwise_nhwc.hpp"
#include "fovea/cpu/conv2d_nhwc.hpp"
#include "fovea/cpu/expand_depthwise_nhwc.hpp"
#include "fovea/nn/expand_depthwise.hpp"
#include "fovea/ops/conv2d/conv2d.hpp"
#include "harness/compare.hpp"
#include "harness/random_tensor.hpp"

using fovea::ActivationKind;
using fovea::Conv2dAttrs;
using fovea::Conv2dEpilogue;
using fovea::Layout;
using fovea::Shape;
using fovea::Tensor;
using fovea::test::random_tensor;

namespace {

struct Block {
  int64_t n, c, h, w, hidden, kernel;
  Conv2dAttrs attrs;  // the depthwise conv's
  int64_t window_bytes;
  int64_t out = 0;        // > 0: a projection to this many channels
  bool residual = false;  // with the projection: add a residual
  bool expands = true;    // false: no expansion (c = hidden), and a projection follows

  std::string str() const {
    std::ostringstream text;
    text << "N=" << n << " C=" << c << " H=" << h << " W=" << w << " hidden=" << hidden
         << " kernel=" << kernel << " stride=" << attrs.stride_h << "x" << attrs.stride_w
         << " pad=" << attrs.pad_top << "," << attrs.pad_left << "," << attrs.pad_bottom << ","
         << attrs.pad_right << " dilation=" << attrs.dilation_h << "x" << attrs.dilation_w
         << " window_bytes=" << window_bytes << " out=" << out << " residual=" << residual
         << " expands=" << expands;
    return text.str();
  }
};

// Random blocks: odd sizes, strides 1 and 2, asymmetric padding, dilation, hidden widths
// that are not whole vectors, and windows from one output row's rows up to the whole image.
Block random_block(fovea::Rng& rng) {
  Block b;
  b.n = 1 + static_cast<int64_t>(rng.below(3));
  b.c = 1 + static_cast<int64_t>(rng.below(24));
  // One input and one hidden channel would make the unfused expansion a depthwise conv,
  // whose kernel rounds once (a fused multiply-add with the bias) where the GEMM rounds twice.
  b.hidden = (b.c == 1 ? 2 : 1) + static_cast<int64_t>(rng.below(70));
  b.kernel = rng.below(2) == 0 ? 3 : 5;
  const int64_t stride = 1 + static_cast<int64_t>(rng.below(2));
  const int64_t dilation = rng.below(4) == 0 ? 2 : 1;
  const int64_t span = (b.kernel - 1) * dilation + 1;
  b.h = span + static_cast<int64_t>(rng.below(30));
  b.w = span + static_cast<int64_t>(rng.below(30));
  b.attrs = Conv2dAttrs::make(stride, 0, dilation, b.hidden);
  b.attrs.pad_top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(span)));
  b.attrs.pad_bottom = static_cast<int64_t>(rng.below(static_cast<uint64_t>(span)));
  b.attrs.pad_left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(span)));
  b.attrs.pad_right = static_cast<int64_t>(rng.below(static_cast<uint64_t>(span)));
  const int64_t row_bytes = b.w * b.hidden * 4;
  b.window_bytes = row_bytes * static_cast<int64_t>(1 + rng.below(static_cast<uint64_t>(b.h + 2)));
  b.expands = rng.below(4) != 0;
  if (!b.expands) b.c = b.hidden;
  if (!b.expands || rng.below(2) == 0) {
    // One hidden and one output channel would make the unfused projection a depthwise conv.
    b.out = (b.hidden == 1 ? 2 : 1) + static_cast<int64_t>(rng.below(40));
    b.residual = rng.below(2) == 0;
  }
  return b;
}

void check_block(const Block& b, int threads) {
  INFO(b.str(), " threads=", threads);
  fovea::set_num_threads(threads);
  const Tensor<float> x = random_tensor(Shape{b.n, b.c, b.h, b.w}, 1);
  const Tensor<float> expand_w = random_tensor(Shape{b.hidden, b.c, 1, 1}, 2);
  const Tensor<float> expand_b = random_tensor(Shape{b.hidden}, 3);
  const Tensor<float> dw_w = random_tensor(Shape{b.hidden, 1, b.kernel, b.kernel}, 4);
  const Tensor<float> dw_b = random_tensor(Shape{b.hidden}, 5);
  const Conv2dAttrs pointwise = Conv2dAttrs::make(1, 0);
  Conv2dAttrs depthwise = b.attrs;
  depthwise.groups = b.hidden;

  const Conv2dEpilogue expand_epilogue{ActivationKind::relu6, nullptr};
  const Conv2dEpilogue dw_epilogue{ActivationKind::silu, nullptr};

  // The reference, in NCHW.
  const Tensor<float> want = fovea::conv2d_fused_reference(
      b.expands ? fovea::conv2d_fused_reference(x, expand_w, expand_b, pointwise, expand_epilogue)
                : x,
      dw_w, dw_b, depthwise, dw_epilogue);
  // The NHWC kernels one after the other.
  const Tensor<float> xh = x.to_layout(Layout::nhwc);
  const Tensor<float> unfused = fovea::conv2d_fused(
      b.expands ? fovea::conv2d_fused(xh, expand_w, expand_b, pointwise, expand_epilogue) : xh,
      dw_w, dw_b, depthwise, dw_epilogue);
  REQUIRE(fovea::last_kernel("conv2d").find("nhwc_depthwise") != std::string::npos);

  const fovea::Conv2dParams ep = fovea::Conv2dParams::make(xh.shape(), expand_w.shape(), pointwise);
  const fovea::Conv2dParams dp =
      fovea::Conv2dParams::make(ep.output_shape(), dw_w.shape(), depthwise);
  const auto packed_expand = fovea::cpu::conv2d_nhwc_pointwise_prepare(expand_w, ep);
  const auto packed_dw = fovea::cpu::conv2d_depthwise_nhwc_prepare(dw_w, dp);
  const fovea::cpu::ExpandDepthwiseNhwc f{
      b.expands ? static_cast<const fovea::cpu::PackedMatrixB*>(packed_expand.get()) : nullptr,
      expand_b.data(),
      ActivationKind::relu6,
      dp,
      *static_cast<const fovea::cpu::DepthwiseNhwcWeights*>(packed_dw.get()),
      dw_b.data(),
      ActivationKind::silu,
      b.window_bytes};
  if (b.out == 0) {
    const Tensor<float> fused = fovea::cpu::expand_depthwise_nhwc(xh, f);
    REQUIRE(fused.layout() == Layout::nhwc);
    REQUIRE(fused.shape() == want.shape());
    CHECK(fovea::test::max_abs_error(fused, unfused) == 0);
    CHECK(fovea::test::max_relative_error(fused, want) <= 1e-4);
    return;
  }
  // With the projection (and a residual), against the third conv run after the two.
  const Tensor<float> project_w = random_tensor(Shape{b.out, b.hidden, 1, 1}, 6);
  const Tensor<float> project_b = random_tensor(Shape{b.out}, 7);
  const Tensor<float> residual = random_tensor(Shape{b.n, b.out, dp.p, dp.q}, 8);
  const Tensor<float> residual_h = residual.to_layout(Layout::nhwc);
  const Conv2dEpilogue project_nchw{ActivationKind::identity, b.residual ? &residual : nullptr};
  const Conv2dEpilogue project_nhwc{ActivationKind::identity, b.residual ? &residual_h : nullptr};
  const Tensor<float> want_projected =
      fovea::conv2d_fused_reference(want, project_w, project_b, pointwise, project_nchw);
  const Tensor<float> unfused_projected =
      fovea::conv2d_fused(unfused, project_w, project_b, pointwise, project_nhwc);
  REQUIRE(fovea::last_kernel("conv2d").find("nhwc_pointwise") != std::string::npos);
  const fovea::Conv2dParams pp =
      fovea::Conv2dParams::make(unfused.shape(), project_w.shape(), pointwise);
  const auto packed_project = fovea::cpu::conv2d_nhwc_pointwise_prepare(project_w, pp);
  const Tensor<float> fused = fovea::cpu::expand_depthwise_project_nhwc(
      xh, f,
      fovea::cpu::ProjectNhwc{*static_cast<const fovea::cpu::PackedMatrixB*>(packed_project.get()),
                              project_b.data(), ActivationKind::identity,
                              b.residual ? residual_h.data() : nullptr});
  REQUIRE(fused.layout() == Layout::nhwc);
  REQUIRE(fused.shape() == want_projected.shape());
  CHECK(fovea::test::max_abs_error(fused, unfused_projected) == 0);
  CHECK(fovea::test::max_relative_error(fused, want_projected) <= 1e-4);
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("expand_depthwise_nhwc is the separate convs to the bit on random blocks") {
    fovea::Rng rng(2026);
    for (int i = 0; i < 80; ++i) {
      const Block b = random_block(rng);
      check_block(b, 1 + i % 2);
    }
  }

  TEST_CASE("expand_depthwise_nhwc on MobileNetV2-like planes with several bands") {
    // 3×3 stride 2 on an even plane, 5×5 stride 1, a one-row window (every band keeps rows).
    const Conv2dAttrs s2 = Conv2dAttrs::make(2, 1, 1, 48);
    const Conv2dAttrs k5 = Conv2dAttrs::make(1, 2, 1, 40);
    for (const int threads : {1, 2}) {
      check_block(Block{1, 16, 40, 36, 48, 3, s2, 36 * 48 * 4 * 7}, threads);
      check_block(Block{2, 24, 29, 31, 40, 5, k5, 31 * 40 * 4 * 9}, threads);
      check_block(Block{1, 8, 21, 17, 33, 3, Conv2dAttrs::make(1, 1, 1, 33), 1}, threads);
      check_block(Block{1, 16, 40, 36, 48, 3, s2, 36 * 48 * 4 * 7, 24, false}, threads);
      check_block(Block{2, 24, 29, 31, 40, 5, k5, 31 * 40 * 4 * 9, 24, true}, threads);
      check_block(Block{1, 8, 21, 17, 33, 3, Conv2dAttrs::make(1, 1, 1, 33), 1, 8, true}, threads);
      // No expansion (MobileNetV2's first block): in several bands, strided, with a residual.
      const Conv2dAttrs dw32 = Conv2dAttrs::make(1, 1, 1, 32);
      check_block(Block{1, 32, 40, 36, 32, 3, dw32, 36 * 16 * 4 * 5, 16, false, false}, threads);
      check_block(Block{2, 48, 29, 31, 48, 3, s2, 1, 24, false, false}, threads);
      check_block(Block{2, 40, 29, 31, 40, 5, k5, 31 * 40 * 4 * 9, 40, true, false}, threads);
    }
  }

  TEST_CASE("expand_depthwise_nhwc without an expansion needs a projection") {
    const Conv2dAttrs dw = Conv2dAttrs::make(1, 1, 1, 8);
    const Tensor<float> x = random_tensor(Shape{1, 8, 6, 6}, 1).to_layout(Layout::nhwc);
    const Tensor<float> dw_w = random_tensor(Shape{8, 1, 3, 3}, 2);
    const fovea::Conv2dParams dp = fovea::Conv2dParams::make(x.shape(), dw_w.shape(), dw);
    const auto packed_dw = fovea::cpu::conv2d_depthwise_nhwc_prepare(dw_w, dp);
    const fovea::cpu::ExpandDepthwiseNhwc f{
        nullptr,
        nullptr,
        ActivationKind::identity,
        dp,
        *static_cast<const fovea::cpu::DepthwiseNhwcWeights*>(packed_dw.get()),
        nullptr,
        ActivationKind::relu};
    CHECK_THROWS_WITH_AS(fovea::cpu::expand_depthwise_nhwc(x, f),
                         doctest::Contains("a projection must follow"), fovea::Error);
    // An input whose channels are not the depthwise conv's is named.
    const Tensor<float> wrong = random_tensor(Shape{1, 4, 6, 6}, 3).to_layout(Layout::nhwc);
    const Tensor<float> project_w = random_tensor(Shape{4, 8, 1, 1}, 4);
    const fovea::Conv2dParams pp =
        fovea::Conv2dParams::make(x.shape(), project_w.shape(), Conv2dAttrs::make(1, 0));
    const auto packed_project = fovea::cpu::conv2d_nhwc_pointwise_prepare(project_w, pp);
    const fovea::cpu::ProjectNhwc project{
        *static_cast<const fovea::cpu::PackedMatrixB*>(packed_project.get()), nullptr,
        ActivationKind::identity, nullptr};
    CHECK_THROWS_WITH_AS(fovea::cpu::expand_depthwise_project_nhwc(wrong, f, project),
                         doctest::Contains("does not fit the expansion [8, 8]"), fovea::Error);
  }

  TEST_CASE("expand_depthwise_nhwc splits one image's hidden channels over two threads") {
    // With no projection, at least two GEMM panels of hidden channels, and more than a tenth of
    // the rows to expand twice if the parts were row ranges, a single image's two parts are
    // channel ranges: EfficientNet-B0's 5×5 on 7×7, an uneven last range, a strided conv in
    // several bands, and hidden widths around the two-panel threshold. (Taller images split
    // by rows: the MobileNetV2-like planes above, at two threads.)
    const Conv2dAttrs k5 = Conv2dAttrs::make(1, 2, 1, 144);
    const Conv2dAttrs s2 = Conv2dAttrs::make(2, 1, 1, 100);
    const int64_t panel = fovea::cpu::kGemmNr;
    check_block(Block{1, 24, 7, 7, 144, 5, k5, 1 << 20}, 2);
    check_block(Block{1, 16, 8, 13, 100, 3, s2, 13 * 100 * 4 * 3}, 2);
    for (const int64_t hidden : {2 * panel - 1, 2 * panel, 3 * panel + 5}) {
      check_block(Block{1, 8, 9, 11, hidden, 3, Conv2dAttrs::make(1, 1, 1, hidden), 1 << 20}, 2);
    }
  }

  TEST_CASE("expand_depthwise_project fuses NHWC inputs and runs the convs for NCHW ones") {
    fovea::set_num_threads(2);
    fovea::nn::Conv2d expand(12, 40, 1, Conv2dAttrs::make(1, 0), true);
    fovea::nn::Conv2d depthwise(40, 40, 3, Conv2dAttrs::make(2, 1, 1, 40), true);
    for (auto* layer : {&expand, &depthwise}) {
      layer->weight().fill_uniform(7, -1, 1);
      layer->bias().fill_uniform(8, -1, 1);
      layer->set_training(false);
      layer->set_weight_caching(true);
    }
    const Tensor<float> x = random_tensor(Shape{1, 12, 23, 19}, 9);
    const Tensor<float> nchw = fovea::nn::expand_depthwise_project(x, expand, ActivationKind::silu,
                                                                   depthwise, ActivationKind::relu);
    CHECK(fovea::last_kernel("conv2d").find("_nchw_") != std::string::npos);
    const Tensor<float> nhwc = fovea::nn::expand_depthwise_project(
        x.to_layout(Layout::nhwc), expand, ActivationKind::silu, depthwise, ActivationKind::relu);
    CHECK(fovea::last_kernel("conv2d").find("nhwc_expand_depthwise") != std::string::npos);
    CHECK(nhwc.layout() == Layout::nhwc);
    CHECK(fovea::test::max_relative_error(nhwc, nchw) <= 1e-4);

    fovea::set_kernel_policy(fovea::KernelPolicy::reference_only);
    const Tensor<float> reference = fovea::nn::expand_depthwise_project(
        x.to_layout(Layout::nhwc), expand, ActivationKind::silu, depthwise, ActivationKind::relu);
    CHECK(fovea::last_kernel("conv2d") == "conv2d_reference");
    fovea::set_kernel_policy(fovea::KernelPolicy::best);
    CHECK(fovea::test::max_relative_error(nhwc, reference) <= 1e-4);

    // With a projection and a residual: one pass for NHWC, the three convs for NCHW.
    fovea::nn::Conv2d projection(40, 16, 1, Conv2dAttrs::make(1, 0), true);
    projection.weight().fill_uniform(10, -1, 1);
    projection.bias().fill_uniform(11, -1, 1);
    projection.set_training(false);
    const Tensor<float> residual = random_tensor(Shape{1, 16, 12, 10}, 12);
    const Tensor<float> residual_h = residual.to_layout(Layout::nhwc);
    const Tensor<float> projected_nchw = fovea::nn::expand_depthwise_project(
        x, expand, ActivationKind::silu, depthwise, ActivationKind::relu, &projection, &residual);
    CHECK(fovea::last_kernel("conv2d").find("_nchw_") != std::string::npos);
    const Tensor<float> projected_nhwc = fovea::nn::expand_depthwise_project(
        x.to_layout(Layout::nhwc), expand, ActivationKind::silu, depthwise, ActivationKind::relu,
        &projection, &residual_h);
    CHECK(fovea::last_kernel("conv2d").find("nhwc_expand_depthwise_project") != std::string::npos);
    CHECK(fovea::test::max_relative_error(projected_nhwc, projected_nchw) <= 1e-4);
    CHECK_THROWS_WITH_AS(
        fovea::nn::expand_depthwise_project(x.to_layout(Layout::nhwc), expand, ActivationKind::silu,
                                            depthwise, ActivationKind::relu, nullptr, &residual_h),
        doctest::Contains("none was given"), fovea::Error);
    // On a 7×7 image, two threads would expand 9 rows for 7: the separate convs run instead,
    // and give the same bits.
    const Tensor<float> small = random_tensor(Shape{1, 12, 7, 7}, 13).to_layout(Layout::nhwc);
    fovea::nn::Conv2d depthwise_s1(40, 40, 3, Conv2dAttrs::make(1, 1, 1, 40), true);
    depthwise_s1.weight().fill_uniform(14, -1, 1);
    depthwise_s1.set_training(false);
    const Tensor<float> small_residual =
        random_tensor(Shape{1, 16, 7, 7}, 15).to_layout(Layout::nhwc);
    const Tensor<float> separate =
        fovea::nn::expand_depthwise_project(small, expand, ActivationKind::relu6, depthwise_s1,
                                            ActivationKind::relu6, &projection, &small_residual);
    CHECK(fovea::last_kernel("conv2d") ==
          std::string("conv2d_f32_nhwc_pointwise_gemm_") + fovea::cpu::kIsaName);
    fovea::set_num_threads(1);
    const Tensor<float> one_pass =
        fovea::nn::expand_depthwise_project(small, expand, ActivationKind::relu6, depthwise_s1,
                                            ActivationKind::relu6, &projection, &small_residual);
    CHECK(fovea::last_kernel("conv2d").find("nhwc_expand_depthwise_project") != std::string::npos);
    CHECK(fovea::test::max_relative_error(separate, one_pass) == 0);
    fovea::set_num_threads(2);
    // Without an expansion: one pass for NHWC, the two convs (the same bits) for NCHW.
    const Tensor<float> wide = random_tensor(Shape{2, 40, 23, 19}, 16);
    const Tensor<float> wide_h = wide.to_layout(Layout::nhwc);
    const Tensor<float> residual2 = random_tensor(Shape{2, 16, 12, 10}, 17);
    const Tensor<float> residual2_h = residual2.to_layout(Layout::nhwc);
    const Tensor<float> dp_nchw = fovea::nn::depthwise_project(
        wide, depthwise, ActivationKind::relu6, projection, &residual2);
    CHECK(fovea::last_kernel("conv2d").find("_nchw_") != std::string::npos);
    const Tensor<float> dp_nhwc = fovea::nn::depthwise_project(
        wide_h, depthwise, ActivationKind::relu6, projection, &residual2_h);
    CHECK(fovea::last_kernel("conv2d") ==
          std::string("conv2d_f32_nhwc_depthwise_project_") + fovea::cpu::kIsaName);
    const Tensor<float> dp_separate = projection.forward_fused(
        depthwise.forward_fused(wide_h, Conv2dEpilogue{ActivationKind::relu6, nullptr}),
        Conv2dEpilogue{ActivationKind::identity, &residual2_h});
    CHECK(fovea::test::max_abs_error(dp_nhwc, dp_separate) == 0);
    CHECK(fovea::test::max_relative_error(dp_nhwc, dp_nchw) <= 1e-4);
    // A residual of the wrong shape is left to the conv, which names the problem.
    CHECK_THROWS_WITH_AS(
        fovea::nn::expand_depthwise_project(x.to_layout(Layout::nhwc), expand, ActivationKind::silu,
                                            depthwise, ActivationKind::relu, &projection, &x),
        doctest::Contains("residual"), fovea::Error);
  }
}
