#include <doctest/doctest.h>

#include "fovea/models/alexnet.hpp"
#include "fovea/models/init.hpp"
#include "models/state_dict_listing.hpp"

using namespace fovea;

TEST_SUITE("model") {
  TEST_CASE("alexnet matches torchvision's parameter count and names") {
    auto net = models::alexnet();
    CHECK(net->parameter_count() == 61100840);  // torchvision AlexNet_Weights num_params
    CHECK(net->kind() == "AlexNet");
    const std::vector<std::string> want = {
        "features.0.weight 64x3x11x11",   "features.0.bias 64",
        "features.3.weight 192x64x5x5",   "features.3.bias 192",
        "features.6.weight 384x192x3x3",  "features.6.bias 384",
        "features.8.weight 256x384x3x3",  "features.8.bias 256",
        "features.10.weight 256x256x3x3", "features.10.bias 256",
        "classifier.1.weight 4096x9216",  "classifier.1.bias 4096",
        "classifier.4.weight 4096x4096",  "classifier.4.bias 4096",
        "classifier.6.weight 1000x4096",  "classifier.6.bias 1000"};
    test::check_same_listing(test::state_dict_listing(*net), want);
    CHECK(net->submodule("classifier.0").kind() == "Dropout");
    CHECK(net->submodule("avgpool").describe() == "output_size=6x6");
  }

  TEST_CASE("alexnet runs its smallest input 63x71 at batch 2") {
    auto net = models::alexnet(5);
    init_weights(*net, 3);
    Tensor<float> x(Shape{2, 3, 63, 71});
    x.fill_uniform(2, -1, 1);
    const Tensor<float> y = net->forward(x);
    CHECK(y.shape() == Shape{2, 5});
    // Below 63 pixels the last max pool has no 3x3 window left.
    CHECK_THROWS_AS(net->forward(Tensor<float>(Shape{1, 3, 62, 71})), Error);
  }
}
