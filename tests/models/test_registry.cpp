#include <doctest/doctest.h>

#include <set>
#include <string>

#include "fovea/models/registry.hpp"

using namespace fovea;

TEST_SUITE("model") {
  TEST_CASE("model_names lists every family once") {
    const std::vector<std::string> names = model_names();
    // lenet5, alexnet, 8 VGGs, 5 + 5 ImageNet ResNets, 5 CIFAR ResNets, mobilenet_v2, 8 B0–B7.
    CHECK(names.size() == 34);
    CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
    for (const char* name : {"lenet5", "alexnet", "vgg16_bn", "resnet50", "resnet50_v1",
                             "resnet110_cifar", "mobilenet_v2", "efficientnet_b7"}) {
      CHECK(std::set<std::string>(names.begin(), names.end()).count(name) == 1);
    }
  }

  TEST_CASE("build_model passes num_classes to the classifier") {
    ModelOptions options;
    options.num_classes = 10;
    auto net = build_model("resnet18", options);
    CHECK(net->kind() == "ResNet");
    CHECK(net->parameter_count() == 11689512 - 990 * 513);  // fc shrinks from 1000 to 10 rows
    CHECK(build_model("resnet50_v1")->parameter_count() == 25583592);
    CHECK(build_model("resnet20_cifar", options)->parameter_count() == 269722);
    options.num_classes = 0;
    CHECK_THROWS_AS(build_model("resnet18", options), Error);
  }

  TEST_CASE("an unknown model name lists the known ones") {
    try {
      build_model("resnet51");
      FAIL("resnet51 was built");
    } catch (const Error& e) {
      const std::string what = e.what();
      CHECK(what.find("unknown model 'resnet51'") != std::string::npos);
      for (const std::string& name : model_names()) {
        INFO(name);
        CHECK(what.find(name) != std::string::npos);
      }
    }
  }
}
