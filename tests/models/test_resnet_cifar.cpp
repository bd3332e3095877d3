#include <doctest/doctest.h>

#include "fovea/models/init.hpp"
#include "fovea/models/resnet_cifar.hpp"
#include "models/state_dict_listing.hpp"

using namespace fovea;

TEST_SUITE("model") {
  TEST_CASE("cifar resnet parameter counts match the paper's table") {
    // He et al. 2016 table 6 (0.27M … 1.7M); exact values from akamaster's models, 10 classes.
    // ResNet-20: conv1 432 + bn1 32, stage 1: 3·(2·2304 + 64) = 14016, stage 2: 4608 + 9216 + 128
    // + 2·(2·9216 + 128) = 51072, stage 3: 18432 + 36864 + 256 + 2·(2·36864 + 256) = 203520,
    // linear 650: 269,722 in all.
    CHECK(models::resnet_cifar(20)->parameter_count() == 269722);
    CHECK(models::resnet_cifar(32)->parameter_count() == 464154);
    CHECK(models::resnet_cifar(44)->parameter_count() == 658586);
    CHECK(models::resnet_cifar(56)->parameter_count() == 853018);
    CHECK(models::resnet_cifar(110)->parameter_count() == 1727962);
    CHECK_THROWS_AS(models::resnet_cifar(21), Error);
  }

  TEST_CASE("cifar resnet names follow akamaster's checkpoints") {
    auto net = models::resnet_cifar(20);
    const std::vector<std::string> listing = test::state_dict_listing(*net);
    CHECK(listing.size() == 97);  // 19 convs + 19 batch norms × 4 + linear weight and bias
    const std::vector<std::string> head = {
        "conv1.weight 16x3x3x3", "bn1.weight 16",      "bn1.bias 16",
        "bn1.running_mean 16",   "bn1.running_var 16", "layer1.0.conv1.weight 16x16x3x3",
        "layer1.0.bn1.weight 16"};
    test::check_same_listing(std::vector<std::string>(listing.begin(), listing.begin() + 7), head);
    const std::vector<std::string> tail = {"layer3.2.bn2.running_var 64", "linear.weight 10x64",
                                           "linear.bias 10"};
    test::check_same_listing(std::vector<std::string>(listing.end() - 3, listing.end()), tail);
    CHECK(net->submodule("layer2.0.shortcut").kind() == "LambdaLayer");
    CHECK(net->submodule("layer2.1.shortcut").kind() == "Sequential");
  }

  TEST_CASE("option A shortcut subsamples and zero-pads channels") {
    models::SubsampleChannelPadShortcut shortcut(1);
    Tensor<float> x(Shape{1, 2, 3, 3});
    for (int64_t i = 0; i < x.numel(); ++i)
      x[i] = static_cast<float>(i);  // x(0,c,h,w) = 9c+3h+w
    const Tensor<float> y = shortcut.forward(x);
    REQUIRE(y.shape() == Shape{1, 4, 2, 2});  // rows and columns 0 and 2 of 3 are kept
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w) {
        CHECK(y(0, 0, h, w) == 0.0f);
        CHECK(y(0, 3, h, w) == 0.0f);
      }
    CHECK(y(0, 1, 0, 0) == 0.0f);
    CHECK(y(0, 1, 0, 1) == 2.0f);
    CHECK(y(0, 1, 1, 0) == 6.0f);
    CHECK(y(0, 1, 1, 1) == 8.0f);
    CHECK(y(0, 2, 0, 0) == 9.0f);
    CHECK(y(0, 2, 1, 1) == 17.0f);
  }

  TEST_CASE("resnet20 classifies a batch of two CIFAR images") {
    auto net = models::resnet_cifar(20);
    init_weights(*net, 21);
    Tensor<float> x(Shape{2, 3, 32, 32});
    x.fill_uniform(22, -1, 1);
    const Tensor<float> y = net->forward(x);
    CHECK(y.shape() == Shape{2, 10});
    CHECK(y(0, 0) != y(1, 0));
    // An odd size subsamples to ceil(size / 2), the same as the strided conv branch.
    CHECK(net->forward(Tensor<float>(Shape{1, 3, 15, 21})).shape() == Shape{1, 10});
  }
}
