#include <doctest/doctest.h>

#include "fovea/models/efficientnet.hpp"
#include "fovea/models/init.hpp"
#include "harness/compare.hpp"
#include "models/state_dict_listing.hpp"

using namespace fovea;

TEST_SUITE("model") {
  TEST_CASE("make_divisible rounds like torchvision's _make_divisible") {
    CHECK(models::make_divisible(32.0) == 32);
    CHECK(models::make_divisible(35.2) == 32);  // 32 * 1.1 rounds down (32 >= 0.9 * 35.2)
    CHECK(models::make_divisible(3.0) == 8);    // never below the divisor
    CHECK(models::make_divisible(11.9) == 16);  // 8 would lose more than 10%
    CHECK(models::make_divisible(44.8) == 48);  // 32 * 1.4
  }

  TEST_CASE("efficientnet parameter counts match torchvision for b0 to b7") {
    const int64_t want[8] = {5288548,  7794184,  9109994,  12233232,
                             19341616, 30389784, 43040704, 66347960};
    for (int variant = 0; variant < 8; ++variant) {
      INFO("efficientnet_b", variant);
      CHECK(models::efficientnet(variant)->parameter_count() == want[variant]);
    }
    CHECK_THROWS_AS(models::efficientnet(8), Error);
  }

  TEST_CASE("efficientnet_b0 state dict equals torchvision's name for name") {
    auto net = models::efficientnet(0);
    test::check_same_listing(test::state_dict_listing(*net),
                             test::read_listing("efficientnet_b0_state_dict.txt"));
    CHECK(net->submodule("features.1.0").kind() == "MBConv");
    CHECK(net->submodule("features.1.0.block.1").kind() == "SqueezeExcitation");
    CHECK(net->submodule("features.2.0.block.2").kind() == "SqueezeExcitation");
    CHECK(net->submodule("features.2.0.block.0.2").kind() == "SiLU");
    CHECK(dynamic_cast<nn::Dropout&>(net->submodule("classifier.0")).p() == 0.2);
  }

  TEST_CASE("efficientnet_b7 scales depth with ceil and keeps TensorFlow's batch norm eps") {
    auto net = models::efficientnet(7);
    // ceil(n * 3.1) for the stage depths 1, 2, 2, 3, 3, 4, 1 (torchvision gives the same).
    const size_t want_blocks[7] = {4, 7, 7, 10, 10, 13, 4};
    for (int stage = 1; stage <= 7; ++stage) {
      INFO("features.", stage);
      CHECK(dynamic_cast<nn::Sequential&>(net->submodule("features." + std::to_string(stage)))
                .size() == want_blocks[stage - 1]);
    }
    CHECK(dynamic_cast<nn::Conv2d&>(net->submodule("features.8.0")).out_channels() == 2560);
    CHECK(dynamic_cast<nn::BatchNorm2d&>(net->submodule("features.8.1")).eps() == 1e-3);
    CHECK(dynamic_cast<nn::Dropout&>(net->submodule("classifier.0")).p() == 0.5);
    auto b4 = models::efficientnet(4);
    CHECK(dynamic_cast<nn::BatchNorm2d&>(b4->submodule("features.8.1")).eps() == 1e-5);
  }

  TEST_CASE("mbconv adds its input back only when the shape is kept") {
    // With zero conv weights the branch is the project batch norm's shift, 0.5, and the SE
    // gate only scales zeros.
    models::MBConv same(8, 8, 6, 3, 1, 0.0, 1e-5);
    dynamic_cast<nn::BatchNorm2d&>(same.submodule("block.3.1")).bias().fill(0.5f);
    Tensor<float> x(Shape{1, 8, 3, 3});
    x.fill(2.0f);
    CHECK(same.forward(x)(0, 5, 1, 2) == 2.5f);
    models::MBConv wider(8, 16, 6, 3, 1, 0.0, 1e-5);
    dynamic_cast<nn::BatchNorm2d&>(wider.submodule("block.3.1")).bias().fill(0.5f);
    CHECK(wider.forward(x)(0, 12, 1, 2) == 0.5f);
  }

  TEST_CASE("efficientnet_b0 classifies a non-square batch of two") {
    auto net = models::efficientnet(0, 10);
    init_weights(*net, 41);
    Tensor<float> x(Shape{2, 3, 64, 48});
    x.fill_uniform(42, -1, 1);
    const Tensor<float> y = net->forward(x);
    CHECK(y.shape() == Shape{2, 10});
    // Freshly initialized depthwise stacks shrink activations towards 1e-12 by the head (torch
    // does the same with untrained batch-norm statistics), so the logits are the bias alone;
    // the features still tell the two images apart, at their own scale.
    nn::Module& features = net->submodule("features");
    const Tensor<float> both = features.forward(x);
    const Tensor<float> first = features.forward(x.batch_slice(0, 1));
    const Tensor<float> second = features.forward(x.batch_slice(1, 1));
    CHECK(test::max_relative_error(both.batch_slice(0, 1), first) < 1e-6);
    CHECK(test::max_relative_error(both.batch_slice(1, 1), second) < 1e-6);
    CHECK(test::max_relative_error(first, second) > 0.1);
  }
}
