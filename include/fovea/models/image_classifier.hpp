// ImageClassifier: the shape most torchvision classifiers share (AlexNet, VGG, MobileNetV2,
// EfficientNet): features, an adaptive average pool, flatten, then the classifier head. Its
// steps (nn::StepwiseForward) are the features' children, then the pool and head as one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/module.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/nn/stepwise_forward.hpp"
#include "fovea/ops/elementwise/flatten.hpp"

namespace fovea::models {

// Whether the pool is a child named "avgpool" (AlexNet, VGG, EfficientNet) or, as in
// torchvision's MobileNetV2, a plain function call that is no part of the module tree.
enum class PoolPlacement { child, functional };

class ImageClassifier : public nn::Module, public nn::StepwiseForward {
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
    if (Tensor<float> y; run_planned(x, y)) return y;  // prepared for inference
    return classifier_->forward(flatten(pool_->forward(features_->forward(x)), 1));
  }

  int64_t step_count() const override { return static_cast<int64_t>(features_->size()) + 1; }
  Tensor<float> forward_steps(const Tensor<float>& x, int64_t begin, int64_t end) override {
    const int64_t steps = step_count();
    FOVEA_CHECK(0 <= begin && begin <= end && end <= steps, kind_, ": steps [", begin, ", ", end,
                ") are not a range of its ", steps, " steps");
    Tensor<float> y = x;
    for (int64_t step = begin; step < end; ++step) {
      y = step + 1 < steps ? features_->children()[static_cast<size_t>(step)].second->forward(y)
                           : classifier_->forward(flatten(pool_->forward(y), 1));
    }
    return y;
  }
  int lower(nn::Dataflow& graph, int x) override {
    int y = graph.lower_child("features", *features_, x);
    y = graph.lower_child("avgpool", *pool_, y);
    return graph.lower_child("classifier", *classifier_,
                             graph.flatten(graph.path_of("flatten"), y));
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
