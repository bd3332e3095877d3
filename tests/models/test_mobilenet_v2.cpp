#include <doctest/doctest.h>

#include "fovea/models/init.hpp"
#include "fovea/models/mobilenet_v2.hpp"
#include "harness/compare.hpp"
#include "models/state_dict_listing.hpp"

using namespace fovea;

TEST_SUITE("model") {
  TEST_CASE("mobilenet_v2 matches torchvision's parameter count and state dict") {
    auto net = models::mobilenet_v2();
    CHECK(net->parameter_count() == 3504872);
    test::check_same_listing(test::state_dict_listing(*net),
                             test::read_listing("mobilenet_v2_state_dict.txt"));
    CHECK(net->submodule("features.0").kind() == "Conv2dNormActivation");
    CHECK(net->submodule("features.0.2").kind() == "ReLU6");
    CHECK(net->submodule("features.17").kind() == "InvertedResidual");
    CHECK(dynamic_cast<nn::Dropout&>(net->submodule("classifier.0")).p() == 0.2);
    // torchvision pools with a function call, so there is no avgpool child.
    CHECK_THROWS_AS(net->submodule("avgpool"), Error);
  }

  TEST_CASE("inverted residual adds its input back only when the shape is kept") {
    // Zero conv weights leave only the last batch norm's shift, 0.25, in the branch.
    models::InvertedResidual same(4, 4, 1, 6);
    dynamic_cast<nn::BatchNorm2d&>(same.submodule("conv.3")).bias().fill(0.25f);
    Tensor<float> x(Shape{1, 4, 2, 2});
    x.fill(-1.0f);
    const Tensor<float> y = same.forward(x);
    CHECK(y(0, 0, 0, 0) == -0.75f);  // no activation after the add
    CHECK(y(0, 3, 1, 1) == -0.75f);

    models::InvertedResidual strided(4, 4, 2, 6);
    dynamic_cast<nn::BatchNorm2d&>(strided.submodule("conv.3")).bias().fill(0.25f);
    const Tensor<float> z = strided.forward(x);
    CHECK(z.shape() == Shape{1, 4, 1, 1});
    CHECK(z(0, 2, 0, 0) == 0.25f);
    // Expand ratio 1 has no expand conv: the depthwise block comes first.
    models::InvertedResidual no_expand(32, 16, 1, 1);
    CHECK(no_expand.submodule("conv.0.0").describe().find("groups=32") != std::string::npos);
  }

  TEST_CASE("mobilenet_v2 classifies a non-square batch of two") {
    auto net = models::mobilenet_v2(10);
    init_weights(*net, 31);
    Tensor<float> x(Shape{2, 3, 64, 48});
    x.fill_uniform(32, -1, 1);
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
