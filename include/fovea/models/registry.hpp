// The model zoo by name: build_model("resnet50") and the list of names it knows. These entry
// points live in namespace fovea; the per-family builders and blocks in fovea::models.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fovea/models/alexnet.hpp"
#include "fovea/models/efficientnet.hpp"
#include "fovea/models/lenet.hpp"
#include "fovea/models/mobilenet_v2.hpp"
#include "fovea/models/resnet.hpp"
#include "fovea/models/resnet_cifar.hpp"
#include "fovea/models/vgg.hpp"
#include "fovea/nn/batchnorm.hpp"

namespace fovea {

struct ModelOptions {
  // ImageNet's 1000 for every model; pass 10 for the CIFAR-10 ResNets and an MNIST LeNet5.
  int64_t num_classes = 1000;
  // Overrides every batch norm's epsilon; empty keeps the architecture's own. Weight files
  // record theirs as the metadata key "bn_eps".
  std::optional<double> bn_eps;
};

namespace detail {

inline void set_batchnorm_eps(nn::Module& module, double eps) {
  if (auto* norm = dynamic_cast<nn::BatchNorm2d*>(&module)) norm->set_eps(eps);
  for (const auto& child : module.children())
    set_batchnorm_eps(*child.second, eps);
}

using ModelBuilder = std::function<std::unique_ptr<nn::Module>(const ModelOptions&)>;

// Every model, in the order model_names() lists them.
inline const std::vector<std::pair<std::string, ModelBuilder>>& model_table() {
  static const std::vector<std::pair<std::string, ModelBuilder>> table = [] {
    std::vector<std::pair<std::string, ModelBuilder>> t;
    t.emplace_back("lenet5", [](const ModelOptions& o) { return models::lenet5(o.num_classes); });
    t.emplace_back("alexnet", [](const ModelOptions& o) { return models::alexnet(o.num_classes); });
    for (int depth : {11, 13, 16, 19}) {
      for (bool bn : {false, true}) {
        t.emplace_back(
            "vgg" + std::to_string(depth) + (bn ? "_bn" : ""),
            [depth, bn](const ModelOptions& o) { return models::vgg(depth, bn, o.num_classes); });
      }
    }
    for (int depth : {18, 34, 50, 101, 152}) {
      t.emplace_back("resnet" + std::to_string(depth), [depth](const ModelOptions& o) {
        models::ResNetOptions r;
        r.num_classes = o.num_classes;
        return models::resnet(depth, r);
      });
    }
    for (int depth : {18, 34, 50, 101, 152}) {
      t.emplace_back("resnet" + std::to_string(depth) + "_v1", [depth](const ModelOptions& o) {
        return models::resnet(depth, models::ResNetOptions::keras_v1(o.num_classes));
      });
    }
    for (int depth : {20, 32, 44, 56, 110}) {
      t.emplace_back("resnet" + std::to_string(depth) + "_cifar", [depth](const ModelOptions& o) {
        return models::resnet_cifar(depth, o.num_classes);
      });
    }
    t.emplace_back("mobilenet_v2",
                   [](const ModelOptions& o) { return models::mobilenet_v2(o.num_classes); });
    for (int variant = 0; variant <= 7; ++variant) {
      t.emplace_back("efficientnet_b" + std::to_string(variant), [variant](const ModelOptions& o) {
        return models::efficientnet(variant, o.num_classes);
      });
    }
    return t;
  }();
  return table;
}

}  // namespace detail

inline std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : detail::model_table())
    names.push_back(entry.first);
  return names;
}

// A freshly built model (weights as the layers construct them; see init_weights). Throws
// listing every known name if `name` is not one.
inline std::unique_ptr<nn::Module> build_model(const std::string& name,
                                               const ModelOptions& options = {}) {
  FOVEA_CHECK(options.num_classes > 0, "model '", name, "' needs a positive num_classes, got ",
              options.num_classes);
  std::string known;
  for (const auto& [entry_name, builder] : detail::model_table()) {
    if (entry_name == name) {
      std::unique_ptr<nn::Module> model = builder(options);
      if (options.bn_eps) detail::set_batchnorm_eps(*model, *options.bn_eps);
      return model;
    }
    known += (known.empty() ? "" : ", ") + entry_name;
  }
  fail("unknown model '", name, "' (known models: ", known, ")");
}

}  // namespace fovea
