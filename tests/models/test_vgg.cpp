#include <doctest/doctest.h>

#include "fovea/models/init.hpp"
#include "fovea/models/vgg.hpp"
#include "models/state_dict_listing.hpp"

using namespace fovea;

TEST_SUITE("model") {
  TEST_CASE("vgg parameter counts match torchvision") {
    // torchvision 0.14's num_params for vgg11 … vgg19_bn.
    struct Case {
      int depth;
      bool batch_norm;
      int64_t params;
    };
    const Case cases[] = {{11, false, 132863336}, {11, true, 132868840},  {13, false, 133047848},
                          {13, true, 133053736},  {16, false, 138357544}, {16, true, 138365992},
                          {19, false, 143667240}, {19, true, 143678248}};
    for (const Case& c : cases) {
      INFO("vgg", c.depth, c.batch_norm ? "_bn" : "");
      CHECK(models::vgg(c.depth, c.batch_norm)->parameter_count() == c.params);
    }
    CHECK_THROWS_AS(models::vgg(12, false), Error);
  }

  TEST_CASE("vgg11_bn names follow torchvision's flat features Sequential") {
    auto net = models::vgg(11, true);
    const std::vector<std::string> listing = test::state_dict_listing(*net);
    // conv, bn, ReLU, pool: the second conv is features.4 and its batch norm features.5.
    const std::vector<std::string> head = {
        "features.0.weight 64x3x3x3",  "features.0.bias 64",         "features.1.weight 64",
        "features.1.bias 64",          "features.1.running_mean 64", "features.1.running_var 64",
        "features.4.weight 128x64x3x3"};
    test::check_same_listing(std::vector<std::string>(listing.begin(), listing.begin() + 7), head);
    const std::vector<std::string> tail = {
        "features.26.running_var 512", "classifier.0.weight 4096x25088",
        "classifier.0.bias 4096",      "classifier.3.weight 4096x4096",
        "classifier.3.bias 4096",      "classifier.6.weight 1000x4096",
        "classifier.6.bias 1000"};
    test::check_same_listing(std::vector<std::string>(listing.end() - 7, listing.end()), tail);
    CHECK(net->submodule("features.28").kind() == "MaxPool2d");
    CHECK(net->submodule("classifier.2").kind() == "Dropout");
  }

  TEST_CASE("vgg11_bn runs a small non-square input") {
    auto net = models::vgg(11, true, 7);
    init_weights(*net, 5);
    Tensor<float> x(Shape{1, 3, 32, 40});
    x.fill_uniform(4, -1, 1);
    CHECK(net->forward(x).shape() == Shape{1, 7});
  }
}
