// Every INT8 conv kernel (each ISA this CPU has) against the integer reference, bit for bit, on
// randomized shapes: odd channel counts, batch > 1, non-square images and kernels, stride,
// asymmetric padding, dilation, depthwise, residuals, every clamp and the float output.
#include <doctest/doctest.h>

#include <string>

#include "fovea/quant/ops.hpp"
#include "qtest_util.hpp"

namespace {

using fovea::Rng;
using fovea::Shape;
namespace quant = fovea::quant;

struct Case {
  quant::QConvLayer layer;
  quant::QTensor x, residual;
  std::string text;
};

Case random_case(Rng& rng, bool depthwise) {
  Case c;
  const int64_t n = 1 + static_cast<int64_t>(rng.below(3));
  const int64_t channels = 1 + static_cast<int64_t>(rng.below(depthwise ? 70 : 40));
  const int64_t k = depthwise ? channels : 1 + static_cast<int64_t>(rng.below(80));
  const int64_t r = 1 + static_cast<int64_t>(rng.below(5)),
                s = 1 + static_cast<int64_t>(rng.below(5));
  fovea::Conv2dAttrs& a = c.layer.attrs;
  a.stride_h = 1 + static_cast<int64_t>(rng.below(3));
  a.stride_w = 1 + static_cast<int64_t>(rng.below(2));
  a.dilation_h = 1 + static_cast<int64_t>(rng.below(2));
  a.dilation_w = 1 + static_cast<int64_t>(rng.below(2));
  a.pad_top = static_cast<int64_t>(rng.below(3));
  a.pad_left = static_cast<int64_t>(rng.below(3));
  a.pad_bottom = static_cast<int64_t>(rng.below(3));
  a.pad_right = static_cast<int64_t>(rng.below(3));
  a.groups = depthwise ? channels : 1;
  const int64_t h = (r - 1) * a.dilation_h + 1 + static_cast<int64_t>(rng.below(12));
  const int64_t w = (s - 1) * a.dilation_w + 1 + static_cast<int64_t>(rng.below(12));
  c.layer.weights = fovea::test::random_qweights(Shape{k, depthwise ? 1 : channels, r, s}, rng);
  c.layer.input = fovea::test::random_params(rng);
  c.layer.output = fovea::test::random_params(rng);
  const fovea::ActivationKind acts[] = {fovea::ActivationKind::identity,
                                        fovea::ActivationKind::relu, fovea::ActivationKind::relu6};
  c.layer.act = acts[rng.below(3)];
  c.x = fovea::test::random_qtensor(Shape{n, channels, h, w}, rng, c.layer.input);
  const fovea::Conv2dParams cp =
      fovea::Conv2dParams::make(c.x.shape(), c.layer.weights.weight.shape(), a);
  if (rng.below(2) == 0) {
    c.layer.residual = fovea::test::random_params(rng);
    c.residual = fovea::test::random_qtensor(cp.output_shape(), rng, *c.layer.residual);
  }
  c.text = "x " + c.x.shape().str() + " w " + c.layer.weights.weight.shape().str() + " stride " +
           std::to_string(a.stride_h) + "x" + std::to_string(a.stride_w) + " dilation " +
           std::to_string(a.dilation_h) + "x" + std::to_string(a.dilation_w) + " groups " +
           std::to_string(a.groups) + (c.layer.residual ? " +residual" : "") + " " +
           fovea::activation_name(c.layer.act);
  return c;
}

// The kernel's output and the reference's, for the same case.
void check_case(const Case& c, const std::string& isa) {
  const quant::QTensor* residual = c.layer.residual ? &c.residual : nullptr;
  const quant::QTensor got = quant::qconv2d(c.x, c.layer, residual, nullptr);
  const std::string kernel = fovea::last_kernel("qconv2d");
  CHECK_MESSAGE(kernel.find(isa) != std::string::npos, kernel, " ran, not a ", isa, " kernel");
  const quant::QTensor want = quant::qconv2d_reference(
      c.x, c.layer.weights, c.layer.attrs, quant::QEpilogue{c.layer.act, residual, c.layer.output});
  CHECK_MESSAGE(fovea::test::same_bytes(got.q, want.q, kernel + " " + c.text), c.text);
}

}  // namespace

TEST_SUITE("quant") {
  TEST_CASE("INT8 conv kernels equal the integer reference on random shapes") {
    fovea::test::for_each_int8_isa([](fovea::cpu::Int8Isa isa) {
      Rng rng(17);
      for (int i = 0; i < 60; ++i)
        check_case(random_case(rng, /*depthwise=*/false), fovea::cpu::int8_isa_name(isa));
      for (int i = 0; i < 40; ++i)
        check_case(random_case(rng, /*depthwise=*/true), fovea::cpu::int8_isa_name(isa));
    });
  }

  TEST_CASE("INT8 conv kernels dequantize the logits as the reference does") {
    fovea::test::for_each_int8_isa([](fovea::cpu::Int8Isa) {
      Rng rng(5);
      for (int i = 0; i < 20; ++i) {
        Case c = random_case(rng, /*depthwise=*/false);
        c.layer.dequantize = true;
        c.layer.residual.reset();
        const fovea::Tensor<float> got = quant::qconv2d_to_float(c.x, c.layer, nullptr);
        const fovea::Tensor<float> want =
            quant::qconv2d_dequantized_reference(c.x, c.layer.weights, c.layer.attrs);
        CHECK_MESSAGE(fovea::test::same_floats(got, want, c.text), c.text);
      }
    });
  }

  // Activations at 255 against weights at ±127 over ResNet-50's longest sums (3×3×512 and
  // 1×1×2048) and its stem (7×7/2 over 3 channels, whose window rows end in padding): the int32
  // sums stay exact and every path agrees. An output scale of 1e-8 makes |t| pass 2^31, where
  // rounding before the clamp would overflow (QConvRequant::clamp_by_saturation must be off).
  TEST_CASE("INT8 conv kernels are exact at the extreme values") {
    fovea::test::for_each_int8_isa([](fovea::cpu::Int8Isa isa) {
      Rng rng(3);
      struct Extreme {
        Shape shape;
        int64_t stride;
      };
      for (const Extreme& e : {Extreme{Shape{64, 512, 3, 3}, 1}, Extreme{Shape{48, 2048, 1, 1}, 1},
                               Extreme{Shape{64, 3, 7, 7}, 2}})
        for (const float output_scale : {0.5f, 1e-8f}) {
          const Shape& shape = e.shape;
          quant::QConvLayer layer;
          layer.attrs = fovea::Conv2dAttrs::make(e.stride, shape[2] / 2);
          layer.weights = fovea::test::random_qweights(shape, rng);
          for (int64_t i = 0; i < layer.weights.weight.numel(); ++i)
            layer.weights.weight[i] = (i / 7) % 2 == 0 ? 127 : -127;
          layer.input = quant::QuantParams{0.05f, 3};
          layer.output = quant::QuantParams{output_scale, 128};
          CHECK(quant::derive_requant(layer).clamp_by_saturation == (output_scale > 1e-3f));
          quant::QTensor x =
              fovea::test::random_qtensor(Shape{2, shape[1], 9, 11}, rng, layer.input);
          for (int64_t i = 0; i < x.q.numel(); ++i)
            if (i % 5 != 0) x.q[i] = 255;
          const std::string scale = output_scale > 1e-3f ? "0.5" : "1e-8";
          Case c{layer, x, {}, "extreme " + shape.str() + " output scale " + scale};
          check_case(c, fovea::cpu::int8_isa_name(isa));
        }
    });
  }

  TEST_CASE("reference_only puts INT8 convs on the reference") {
    Rng rng(9);
    const Case c = random_case(rng, false);
    fovea::set_kernel_policy(fovea::KernelPolicy::reference_only);
    quant::qconv2d(c.x, c.layer, c.layer.residual ? &c.residual : nullptr, nullptr);
    fovea::set_kernel_policy(fovea::KernelPolicy::best);
    CHECK(fovea::last_kernel("qconv2d") == "qconv2d_reference");
  }
}
