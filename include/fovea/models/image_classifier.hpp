// ImageClassifier: the shape most torchvision classifiers share (AlexNet, VGG, MobileNetV2,
// EfficientNet): features, an adaptive average pool, flatten, then the classifier head.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "fovea/nn/module.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/ops/elementwise/flatten.hpp"

namespace fovea::models {

// Whether the pool is a child named "avgpool" (AlexNet, VGG, EfficientNet) or, as in
// torchvision's MobileNetV2, a plain function call that is no part of the module tree.
enum class PoolPlacement { child, functional };

class ImageClassifier : public nn::Module {
 public:
  ImageClassifier(std::string kind, std::unique_ptr<nn::Sequential> features,
                  std::unique_ptr<nn::AdaptiveAvgPool2d> pool,
                  std::unique_ptr<nn::Sequential> classifier, PoolPlacement placement)
      : kind_(std::move(kind)) {
    features_ = &register_module("features", std::move(features));
    if (placement == PoolPlacement::child) {
      pool_ = &register_module("avgpool", std::move(pool));
    } else {
      functional_pool_ = std::move(pool);
      pool_ = functional_pool_.get();
    }
    classifier_ = &register_module("classifier", std::move(classifier));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    return classifier_->forward(flatten(pool_->forward(features_->forward(x)), 1));
  }
  std::string kind() const override { return kind_; }

 private:
  std::string kind_;
  nn::Sequential* features_ = nullptr;
  nn::AdaptiveAvgPool2d* pool_ = nullptr;
  std::unique_ptr<nn::AdaptiveAvgPool2d>
      functional_pool_;  // set only for PoolPlacement::functional
  nn::Sequential* classifier_ = nullptr;
};

}  // namespace fovea::models
