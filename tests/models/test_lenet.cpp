#include <doctest/doctest.h>

#include <string>

#include "fovea/models/init.hpp"
#include "fovea/models/lenet.hpp"
#include "models/state_dict_listing.hpp"

using namespace fovea;

TEST_SUITE("model") {
  TEST_CASE("lenet5 has the classic 61706 parameters for ten classes") {
    // conv1 6·1·25 + 6 = 156, conv2 16·6·25 + 16 = 2416, fc1 400·120 + 120 = 48120,
    // fc2 120·84 + 84 = 10164, fc3 84·10 + 10 = 850.
    auto net = models::lenet5(10);
    CHECK(net->parameter_count() == 61706);
    const std::vector<std::string> want = {
        "conv1.weight 6x1x5x5", "conv1.bias 6", "conv2.weight 16x6x5x5", "conv2.bias 16",
        "fc1.weight 120x400",   "fc1.bias 120", "fc2.weight 84x120",     "fc2.bias 84",
        "fc3.weight 10x84",     "fc3.bias 10"};
    test::check_same_listing(test::state_dict_listing(*net), want);
  }

  TEST_CASE("lenet5 maps a batch of 32x32 images to class scores") {
    auto net = models::lenet5(10);
    init_weights(*net, 7);
    Tensor<float> x(Shape{2, 1, 32, 32});
    x.fill_uniform(1, -1, 1);
    const Tensor<float> y = net->forward(x);
    CHECK(y.shape() == Shape{2, 10});
    CHECK(y(0, 0) != y(1, 0));  // the two images differ, so their scores do
  }

  TEST_CASE("lenet5 with zero weights outputs the fc3 bias") {
    // Every layer before fc3 then yields zeros, so fc3 adds only its bias: this pins fc3 last.
    auto net = models::lenet5(3);
    Tensor<float>& bias = *net->named_tensors().back().tensor;
    bias(0) = 0.5f, bias(1) = -2.0f, bias(2) = 7.0f;
    Tensor<float> x(Shape{1, 1, 32, 32});
    x.fill(1.0f);
    const Tensor<float> y = net->forward(x);
    CHECK(y(0, 0) == 0.5f);
    CHECK(y(0, 1) == -2.0f);
    CHECK(y(0, 2) == 7.0f);
  }

  TEST_CASE("lenet5 rejects 28x28 MNIST digits with a message naming the size") {
    auto net = models::lenet5(10);
    Tensor<float> x(Shape{2, 1, 28, 28});
    try {
      net->forward(x);
      FAIL("a 28x28 input was accepted");
    } catch (const Error& e) {
      const std::string what = e.what();
      CHECK(what.find("LeNet5") != std::string::npos);
      CHECK(what.find("(N, 1, 32, 32)") != std::string::npos);
      CHECK(what.find("[2, 1, 28, 28]") != std::string::npos);
    }
  }
}
