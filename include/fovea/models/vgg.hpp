// VGG-11/13/16/19 (configurations A, B, D, E of Simonyan & Zisserman), with or without batch
// norm, as torchvision builds them: features is one flat Sequential of conv [, bn], ReLU and
// 2×2 max pools, avgpool to 7×7, classifier.{0,3,6} linears.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fovea/models/image_classifier.hpp"
#include "fovea/nn/activation.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/dropout.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/pool.hpp"

namespace fovea::models {

namespace detail {

inline constexpr int64_t kVggMaxPool = 0;  // marks a max pool in a configuration list

// Output channels of each 3×3 conv, with kVggMaxPool where a pool goes (torchvision's cfgs).
inline std::vector<int64_t> vgg_config(int depth) {
  constexpr int64_t M = kVggMaxPool;
  switch (depth) {
    case 11:
      return {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
    case 13:
      return {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
    case 16:
      return {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};
    case 19:
      return {64,  64,  M,   128, 128, M,   256, 256, 256, 256, M,
              512, 512, 512, 512, M,   512, 512, 512, 512, M};
  }
  fail("VGG depth must be 11, 13, 16 or 19, got ", depth);
}

}  // namespace detail

// Inputs must be at least 32×32 (five 2×2 pools).
inline std::unique_ptr<ImageClassifier> vgg(int depth, bool batch_norm, int64_t num_classes = 1000,
                                            double dropout = 0.5) {
  auto relu = [] { return std::make_unique<nn::Activation>(ActivationKind::relu); };
  auto features = std::make_unique<nn::Sequential>();
  int64_t in_channels = 3;
  for (int64_t v : detail::vgg_config(depth)) {
    if (v == detail::kVggMaxPool) {
      features->add(std::make_unique<nn::MaxPool2d>(Pool2dAttrs::make(2, 2, 0)));
      continue;
    }
    features->add(std::make_unique<nn::Conv2d>(in_channels, v, 3, Conv2dAttrs::make(1, 1), true));
    if (batch_norm) features->add(std::make_unique<nn::BatchNorm2d>(v));
    features->add(relu());
    in_channels = v;
  }

  auto classifier = std::make_unique<nn::Sequential>();
  classifier->add(std::make_unique<nn::Linear>(512 * 7 * 7, 4096));
  classifier->add(relu());
  classifier->add(std::make_unique<nn::Dropout>(dropout));
  classifier->add(std::make_unique<nn::Linear>(4096, 4096));
  classifier->add(relu());
  classifier->add(std::make_unique<nn::Dropout>(dropout));
  classifier->add(std::make_unique<nn::Linear>(4096, num_classes));

  return std::make_unique<ImageClassifier>("VGG", std::move(features),
                                           std::make_unique<nn::AdaptiveAvgPool2d>(7, 7),
                                           std::move(classifier), PoolPlacement::child);
}

}  // namespace fovea::models
