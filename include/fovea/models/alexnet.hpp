// AlexNet as torchvision builds it (the "one weird trick" variant, 64-192-384-256-256 channels):
// features.{0,3,6,8,10} convs, avgpool to 6×6, classifier.{1,4,6} linears behind dropouts.
#pragma once

#include <cstdint>
#include <memory>

#include "fovea/models/image_classifier.hpp"
#include "fovea/nn/activation.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/dropout.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/pool.hpp"

namespace fovea::models {

// Inputs must be at least 63×63 (the smallest size the three 3×3 stride-2 pools accept).
inline std::unique_ptr<ImageClassifier> alexnet(int64_t num_classes = 1000, double dropout = 0.5) {
  auto relu = [] { return std::make_unique<nn::Activation>(ActivationKind::relu); };
  auto max_pool = [] { return std::make_unique<nn::MaxPool2d>(Pool2dAttrs::make(3, 2, 0)); };
  auto conv = [](int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
    return std::make_unique<nn::Conv2d>(in, out, kernel, Conv2dAttrs::make(stride, padding), true);
  };
  auto features = std::make_unique<nn::Sequential>();
  features->add(conv(3, 64, 11, 4, 2));
  features->add(relu());
  features->add(max_pool());
  features->add(conv(64, 192, 5, 1, 2));
  features->add(relu());
  features->add(max_pool());
  features->add(conv(192, 384, 3, 1, 1));
  features->add(relu());
  features->add(conv(384, 256, 3, 1, 1));
  features->add(relu());
  features->add(conv(256, 256, 3, 1, 1));
  features->add(relu());
  features->add(max_pool());

  auto classifier = std::make_unique<nn::Sequential>();
  classifier->add(std::make_unique<nn::Dropout>(dropout));
  classifier->add(std::make_unique<nn::Linear>(256 * 6 * 6, 4096));
  classifier->add(relu());
  classifier->add(std::make_unique<nn::Dropout>(dropout));
  classifier->add(std::make_unique<nn::Linear>(4096, 4096));
  classifier->add(relu());
  classifier->add(std::make_unique<nn::Linear>(4096, num_classes));

  return std::make_unique<ImageClassifier>("AlexNet", std::move(features),
                                           std::make_unique<nn::AdaptiveAvgPool2d>(6, 6),
                                           std::move(classifier), PoolPlacement::child);
}

}  // namespace fovea::models
