#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "fovea/io/safetensors.hpp"
#include "fovea/models/from_file.hpp"
#include "fovea/models/init.hpp"

using namespace fovea;

namespace {

std::string temp_path(const std::string& name) {
  return std::string(FOVEA_BINARY_DIR) + "/test_load_model_" + name + ".safetensors";
}

// Saves a seeded lenet5 with the given metadata and returns the file's path.
std::string save_lenet(const std::string& name, const std::map<std::string, std::string>& meta) {
  ModelOptions options;
  options.num_classes = 10;
  auto model = build_model("lenet5", options);
  init_weights(*model, 3);
  const std::string path = temp_path(name);
  save_state_dict(*model, path, meta);
  return path;
}

}  // namespace

TEST_SUITE("model") {
  TEST_CASE("bn_eps overrides every batch norm of a built model") {
    ModelOptions options;
    options.bn_eps = 1e-3;
    auto model = build_model("resnet18", options);
    int norms = 0;
    for (const auto& t : model->named_tensors()) {
      if (t.name.size() > 12 && t.name.substr(t.name.size() - 12) == "running_mean") ++norms;
    }
    CHECK(norms == 20);
    auto& bn = dynamic_cast<nn::BatchNorm2d&>(model->submodule("layer3.1.bn2"));
    CHECK(bn.eps() == 1e-3);
    auto plain = build_model("resnet18");
    CHECK(dynamic_cast<nn::BatchNorm2d&>(plain->submodule("bn1")).eps() == 1e-5);
  }

  TEST_CASE("load_model builds the architecture and class count the metadata names") {
    const std::string path = save_lenet("ok", {{"architecture", "lenet5"}, {"num_classes", "10"}});
    LoadedModel loaded = load_model(path);
    CHECK(loaded.architecture == "lenet5");
    Tensor<float> x(Shape{2, 1, 32, 32});
    x.fill_uniform(1, -1, 1);
    CHECK(loaded.model->forward(x).shape() == Shape{2, 10});
    std::remove(path.c_str());
  }

  TEST_CASE("load_model rejects a disagreeing architecture and bad metadata by name") {
    const std::string path =
        save_lenet("arch", {{"architecture", "lenet5"}, {"num_classes", "10"}});
    CHECK_THROWS_WITH_AS(load_model(path, "resnet18"),
                         doctest::Contains("holds a 'lenet5' model, but 'resnet18'"), Error);
    std::remove(path.c_str());

    const std::string eps =
        save_lenet("eps", {{"architecture", "lenet5"}, {"num_classes", "10"}, {"bn_eps", "tiny"}});
    CHECK_THROWS_WITH_AS(load_model(eps), doctest::Contains("bn_eps is 'tiny'"), Error);
    std::remove(eps.c_str());

    const std::string none = save_lenet("none", {{"num_classes", "10"}});
    CHECK_THROWS_WITH_AS(load_model(none), doctest::Contains("no \"architecture\""), Error);
    std::remove(none.c_str());

    const std::string classes =
        save_lenet("classes", {{"architecture", "lenet5"}, {"num_classes", "1000"}});
    CHECK_THROWS_WITH_AS(load_model(classes), doctest::Contains("fc3.weight"), Error);
    std::remove(classes.c_str());
  }
}
