#include <doctest/doctest.h>

#include <chrono>

#include "fovea/models/init.hpp"
#include "fovea/models/resnet.hpp"
#include "models/state_dict_listing.hpp"

using namespace fovea;

namespace {

const Conv2dAttrs& conv_attrs(nn::Module& net, const std::string& path) {
  return dynamic_cast<nn::Conv2d&>(net.submodule(path)).attrs();
}

int64_t tensor_count(nn::Module& net) {
  int64_t total = 0;
  for (const nn::NamedTensor& t : net.named_tensors())
    total += t.tensor->numel();
  return total;
}

}  // namespace

TEST_SUITE("model") {
  TEST_CASE("resnet parameter counts match torchvision") {
    CHECK(models::resnet(18)->parameter_count() == 11689512);
    CHECK(models::resnet(34)->parameter_count() == 21797672);
    CHECK(models::resnet(50)->parameter_count() == 25557032);
    CHECK(models::resnet(101)->parameter_count() == 44549160);
    CHECK(models::resnet(152)->parameter_count() == 60192808);
    CHECK_THROWS_AS(models::resnet(42), Error);
  }

  TEST_CASE("resnet18 state dict equals torchvision's name for name") {
    auto net = models::resnet(18);
    test::check_same_listing(test::state_dict_listing(*net),
                             test::read_listing("resnet18_state_dict.txt"));
  }

  TEST_CASE("keras v1 resnets count what keras.applications reports") {
    // Keras counts the batch-norm moving mean and variance as (non-trainable) parameters, so
    // its totals equal all our tensors: ResNet50 25,636,712 = 25,583,592 trainable + 2·26,560.
    auto v1_50 = models::resnet(50, models::ResNetOptions::keras_v1());
    CHECK(v1_50->parameter_count() == 25583592);
    CHECK(tensor_count(*v1_50) == 25636712);
    CHECK(tensor_count(*models::resnet(101, models::ResNetOptions::keras_v1())) == 44707176);
    CHECK(tensor_count(*models::resnet(152, models::ResNetOptions::keras_v1())) == 60419944);
  }

  TEST_CASE("bottleneck strides on conv2 in v1.5 and on conv1 in v1") {
    auto v15 = models::resnet(50);
    CHECK(conv_attrs(*v15, "layer2.0.conv1").stride_h == 1);
    CHECK(conv_attrs(*v15, "layer2.0.conv2").stride_h == 2);
    CHECK(conv_attrs(*v15, "layer2.0.downsample.0").stride_h == 2);
    CHECK_FALSE(dynamic_cast<nn::Conv2d&>(v15->submodule("layer2.0.conv1")).has_bias());

    auto v1 = models::resnet(50, models::ResNetOptions::keras_v1());
    CHECK(conv_attrs(*v1, "layer2.0.conv1").stride_h == 2);
    CHECK(conv_attrs(*v1, "layer2.0.conv2").stride_h == 1);
    CHECK(conv_attrs(*v1, "layer2.0.downsample.0").stride_h == 2);
    CHECK(dynamic_cast<nn::Conv2d&>(v1->submodule("conv1")).has_bias());
    CHECK(dynamic_cast<nn::Conv2d&>(v1->submodule("layer4.2.conv3")).has_bias());
    CHECK(dynamic_cast<nn::BatchNorm2d&>(v1->submodule("layer3.1.bn2")).eps() == 1.001e-5);
    // Only the first block of layer1 needs a downsample (64 -> 256 channels, stride 1).
    CHECK(conv_attrs(*v1, "layer1.0.downsample.0").stride_h == 1);
    CHECK_THROWS_AS(v1->submodule("layer1.1.downsample"), Error);
  }

  TEST_CASE("basic block adds its input back before the final ReLU") {
    // Zero conv weights make both branches' convs output 0; bn2's shift of 1 then makes the
    // residual branch 1 everywhere, so the block computes relu(x + 1).
    models::ResNetOptions options;
    models::BasicBlock block(2, 2, 1, nullptr, options);
    dynamic_cast<nn::BatchNorm2d&>(block.submodule("bn2")).bias().fill(1.0f);
    Tensor<float> x(Shape{1, 2, 1, 2});
    x(0, 0, 0, 0) = -3.0f, x(0, 0, 0, 1) = 0.5f, x(0, 1, 0, 0) = -1.0f, x(0, 1, 0, 1) = 2.0f;
    const Tensor<float> y = block.forward(x);
    CHECK(y(0, 0, 0, 0) == 0.0f);
    CHECK(y(0, 0, 0, 1) == 1.5f);
    CHECK(y(0, 1, 0, 0) == 0.0f);
    CHECK(y(0, 1, 0, 1) == 3.0f);
  }

  TEST_CASE("bottleneck adds its input back before the final ReLU") {
    models::ResNetOptions options;
    models::Bottleneck block(8, 2, 1, nullptr, options);  // 2 planes expand back to 8 channels
    dynamic_cast<nn::BatchNorm2d&>(block.submodule("bn3")).bias().fill(-1.0f);
    Tensor<float> x(Shape{1, 8, 1, 1});
    for (int c = 0; c < 8; ++c)
      x(0, c, 0, 0) = static_cast<float>(c) * 0.5f;  // 0, 0.5, …, 3.5
    const Tensor<float> y = block.forward(x);
    CHECK(y(0, 0, 0, 0) == 0.0f);  // relu(0 - 1)
    CHECK(y(0, 2, 0, 0) == 0.0f);  // relu(1 - 1)
    CHECK(y(0, 7, 0, 0) == 2.5f);  // relu(3.5 - 1)
  }

  TEST_CASE("resnet18 classifies a non-square batch of two") {
    models::ResNetOptions options;
    options.num_classes = 10;
    auto net = models::resnet(18, options);
    init_weights(*net, 11);
    Tensor<float> x(Shape{2, 3, 64, 48});
    x.fill_uniform(12, -1, 1);
    const Tensor<float> y = net->forward(x);
    CHECK(y.shape() == Shape{2, 10});
    CHECK(y(0, 3) != y(1, 3));
  }

  TEST_CASE("resnet50 runs one 64x64 image in a few seconds") {
    auto net = models::resnet(50);
    init_weights(*net, 13);
    Tensor<float> x(Shape{1, 3, 64, 64});
    x.fill_uniform(14, -1, 1);
    const auto start = std::chrono::steady_clock::now();
    const Tensor<float> y = net->forward(x);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(y.shape() == Shape{1, 1000});
    MESSAGE("resnet50 1x3x64x64 forward: ", seconds, " s");
  }
}
