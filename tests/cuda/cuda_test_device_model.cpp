// DeviceModel: whole zoo models on the device against the CPU path, a hand-checked small
// network, and the errors for modules the device cannot run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "cuda_test_util.hpp"
#include "fovea/cuda/device_model.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/nn/activation.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/cbam.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/flatten.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/plan/fold_batchnorm.hpp"

using namespace fovea;

namespace {

// max |got - want| / max |want|: one number for a whole logits tensor.
double normalized_error(const Tensor<float>& got, const Tensor<float>& want) {
  REQUIRE(got.shape() == want.shape());
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got[i], w = want[i];
    diff = std::max(diff, std::isnan(g) ? INFINITY : std::abs(g - w));
    ref = std::max(ref, std::abs(w));
  }
  return diff / ref;
}

// The bound for a network whose longest path has `depth` convs and linears. Per layer the device
// result carries the rounding of its weights to the device type and of its stored output (FP16:
// 2^-11 each; TF32: the product's operands, 2^-11 each, and FP32 storage, 2^-24); the FP32
// accumulation error of a reduction of a few thousand terms (4608 * 2^-23 < 2^-10) is of the same
// order. That is about 2^-9 per layer, the same for FP16 and TF32 (TF32 keeps FP16's 10-bit
// mantissa for products; it only saves the storage rounding). With kaiming initialization each
// layer passes relative error on with gain about 1, so errors add along the path; a factor 4
// covers amplification where logits nearly cancel. A missing residual, a wrong activation or a
// layout mix-up gives errors of order 1, far above this.
double model_bound(int depth, DType dtype) {
  const double storage = dtype == DType::f32 ? 0x1.0p-24 : 0x1.0p-11;
  const double operands = dtype == DType::f32 ? 2 * 0x1.0p-11 : 0x1.0p-11;
  const double accumulation = 0x1.0p-10;
  return 4.0 * depth * (storage + operands + accumulation);
}

void check_zoo_model(const std::string& name, int depth, DType dtype, const Shape& input_shape) {
  std::unique_ptr<nn::Module> model = build_model(name);
  init_weights(*model, 7);
  model->set_training(false);
  fold_batchnorm_in_place(*model);
  Tensor<float> x(input_shape);
  x.fill_uniform(3, -1.0, 1.0);
  const Tensor<float> want = model->forward(x);

  cuda::DeviceModel device(*model, dtype);
  const Tensor<float> got = device.forward(x);
  const double error = normalized_error(got, want);
  const double bound = model_bound(depth, dtype);
  MESSAGE(name, " ", dtype_name(dtype), ": normalized logit error ", error, " (bound ", bound, ")");
  CHECK(error <= bound);
  // Running again reuses the activation buffers and must give the same numbers.
  const Tensor<float> again = device.forward(x);
  CHECK(normalized_error(again, got) == 0.0);
}

// conv 1x1 (2 -> 2, bias) -> ReLU -> flatten -> linear (2 -> 1), every value exact in FP16.
std::unique_ptr<nn::Sequential> tiny_network() {
  auto net = std::make_unique<nn::Sequential>();
  auto& conv = net->add(std::make_unique<nn::Conv2d>(2, 2, 1, Conv2dAttrs{}, true));
  const float conv_w[] = {1, 1, 2, 0.5f};
  std::copy(conv_w, conv_w + 4, conv.weight().begin());
  conv.bias()[0] = 0.5f;
  conv.bias()[1] = 0;
  net->add(std::make_unique<nn::Activation>(ActivationKind::relu));
  net->add(std::make_unique<nn::Flatten>(1));
  auto& fc = net->add(std::make_unique<nn::Linear>(2, 1));
  fc.weight()[0] = 3;
  fc.weight()[1] = 4;
  fc.bias()[0] = 1;
  return net;
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("device model runs a hand-checked conv relu linear network exactly") {
    if (test::skip_without_cuda_device()) return;
    auto net = tiny_network();
    Tensor<float> x(Shape{1, 2, 1, 1});
    x[0] = 1;
    x[1] = -2;
    // conv: [1 - 2 + 0.5, 2 - 1 + 0] = [-0.5, 1]; relu: [0, 1]; linear: 3*0 + 4*1 + 1 = 5.
    for (DType dtype : {DType::f16, DType::f32, DType::bf16}) {
      cuda::DeviceModel device(*net, dtype);
      const Tensor<float> y = device.forward(x);
      REQUIRE(y.shape() == Shape({1, 1}));
      CHECK_MESSAGE(y[0] == 5.0f, dtype_name(dtype));
    }
  }

  TEST_CASE("device model resnet18 matches the CPU path in FP16 and TF32") {
    if (test::skip_without_cuda_device()) return;
    // 17 convs and the fc on the longest path.
    check_zoo_model("resnet18", 18, DType::f16, Shape{2, 3, 64, 64});
    check_zoo_model("resnet18", 18, DType::f32, Shape{2, 3, 64, 64});
  }

  TEST_CASE("device model mobilenet_v2 matches the CPU path in FP16 and TF32") {
    if (test::skip_without_cuda_device()) return;
    // Stem, 17 blocks of up to 3 convs, head conv and the classifier: 53 layers.
    check_zoo_model("mobilenet_v2", 53, DType::f16, Shape{2, 3, 64, 64});
    check_zoo_model("mobilenet_v2", 53, DType::f32, Shape{2, 3, 64, 64});
  }

  TEST_CASE("device model efficientnet_b0 matches the CPU path in FP16") {
    if (test::skip_without_cuda_device()) return;
    // Stem, 16 MBConv blocks of up to 3 convs (SE adds two small GEMMs each), head, classifier.
    check_zoo_model("efficientnet_b0", 50, DType::f16, Shape{1, 3, 64, 64});
  }

  // A batch is its images side by side: each image of a batch of 256 must get, bit for bit, the
  // logits it gets alone. No kernel may mix images, drop the tail of a large grid, or change an
  // output's summation order with the batch size (the tile choice depends on it). 48×48 images
  // keep batch 256 to a few hundred MB of FP16 activations.
  TEST_CASE("device model gives each image of a batch of 256 the logits it gets alone") {
    if (test::skip_without_cuda_device()) return;
    std::unique_ptr<nn::Module> model = build_model("resnet18");
    init_weights(*model, 7);
    model->set_training(false);
    fold_batchnorm_in_place(*model);
    const Shape image_shape{1, 3, 48, 48};
    const int64_t batch = 256, image = image_shape.numel();
    Tensor<float> x(Shape{batch, 3, 48, 48});
    x.fill_uniform(11, -1.0, 1.0);
    cuda::DeviceModel device(*model, DType::f16);
    const Tensor<float> all = device.forward(x);
    REQUIRE(all.rank() == 2);
    const int64_t classes = all.dim(1);
    for (const int64_t i : {int64_t{0}, int64_t{1}, int64_t{130}, batch - 1}) {
      Tensor<float> one(image_shape);
      std::copy(x.data() + i * image, x.data() + (i + 1) * image, one.data());
      const Tensor<float> alone = device.forward(one);
      int64_t differing = 0;
      for (int64_t k = 0; k < classes; ++k)
        differing += alone[k] != all[i * classes + k] ? 1 : 0;
      CHECK_MESSAGE(differing == 0, "image ", i, ": ", differing, " of ", classes,
                    " logits differ from the same image alone");
    }
  }

  TEST_CASE("device model names an unfolded batch norm") {
    if (test::skip_without_cuda_device()) return;
    nn::Sequential net;
    net.add(std::make_unique<nn::Conv2d>(3, 4, 3, Conv2dAttrs::make(1, 1), false));
    net.add(std::make_unique<nn::BatchNorm2d>(4));
    CHECK_THROWS_WITH(cuda::DeviceModel(net, DType::f16),
                      doctest::Contains("module '1' (BatchNorm2d) is not supported on the device: "
                                        "batch norm must be folded"));
  }

  TEST_CASE("device model names an unsupported module by path and kind") {
    if (test::skip_without_cuda_device()) return;
    nn::Sequential net;
    auto& inner = net.add("body", std::make_unique<nn::Sequential>());
    inner.add(std::make_unique<nn::Conv2d>(8, 8, 1, Conv2dAttrs{}, false));
    inner.add(std::make_unique<nn::CBAM>(8, 4, 3));
    CHECK_THROWS_WITH(cuda::DeviceModel(net, DType::f16),
                      doctest::Contains("module 'body.1' (CBAM) is not supported on the device"));
  }

  TEST_CASE("device model rejects an activation that follows no conv or linear") {
    if (test::skip_without_cuda_device()) return;
    nn::Sequential net;
    net.add(std::make_unique<nn::Activation>(ActivationKind::relu));
    CHECK_THROWS_WITH(cuda::DeviceModel(net, DType::f32),
                      doctest::Contains("an activation must directly follow a conv or linear"));
  }
}
