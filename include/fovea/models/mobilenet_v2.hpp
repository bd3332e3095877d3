// MobileNetV2 (Sandler et al. 2018) as torchvision builds it at width 1.0: features.0 stem,
// features.1..17 inverted residuals, features.18 1×1 conv to 1280, then a functional global pool
// and classifier.{0: Dropout(0.2), 1: Linear}.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "fovea/models/conv_norm_activation.hpp"
#include "fovea/models/image_classifier.hpp"
#include "fovea/models/make_divisible.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/dropout.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"

namespace fovea::models {

// Expand 1×1 (unless the ratio is 1), depthwise 3×3, linear 1×1 projection, all in a Sequential
// named "conv"; the input is added back when the shape is unchanged.
class InvertedResidual : public nn::Module {
 public:
  InvertedResidual(int64_t in_channels, int64_t out_channels, int64_t stride, int64_t expand_ratio)
      : use_residual_(stride == 1 && in_channels == out_channels) {
    FOVEA_CHECK(stride == 1 || stride == 2, "InvertedResidual stride must be 1 or 2, got ", stride);
    const int64_t hidden = in_channels * expand_ratio;
    auto conv = std::make_unique<nn::Sequential>();
    if (expand_ratio != 1) {
      expand_ = &conv->add(std::make_unique<Conv2dNormActivation>(in_channels, hidden, 1, 1, 1,
                                                                  ActivationKind::relu6));
    }
    depthwise_ = &conv->add(std::make_unique<Conv2dNormActivation>(hidden, hidden, 3, stride,
                                                                   hidden, ActivationKind::relu6));
    projection_ =
        &conv->add(std::make_unique<nn::Conv2d>(hidden, out_channels, 1, Conv2dAttrs{}, false));
    projection_norm_ = &conv->add(std::make_unique<nn::BatchNorm2d>(out_channels));
    conv_ = &register_module("conv", std::move(conv));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (!training() && projection_norm_->folded()) {
      // Inference, folded: the whole block in one pass where the kernels allow, the
      // projection conv adding x in its epilogue.
      const Tensor<float>* residual = use_residual_ ? &x : nullptr;
      if (expand_ != nullptr)
        return expand_->forward_into_depthwise(*depthwise_, x, projection_, residual);
      return depthwise_->forward_into_projection(x, *projection_, residual);
    }
    return use_residual_ ? add(x, conv_->forward(x)) : conv_->forward(x);
  }
  int lower(nn::Dataflow& graph, int x) override {
    const int y = graph.lower_child("conv", *conv_, x);
    return use_residual_ ? graph.add(graph.path(), y, x) : y;
  }
  std::string kind() const override { return "InvertedResidual"; }

 private:
  bool use_residual_;
  nn::Sequential* conv_ = nullptr;
  Conv2dNormActivation* expand_ = nullptr;  // conv.0, absent when the ratio is 1
  Conv2dNormActivation* depthwise_ = nullptr;
  nn::Conv2d* projection_ = nullptr;  // conv.2, and its norm conv.3
  nn::BatchNorm2d* projection_norm_ = nullptr;
};

inline std::unique_ptr<ImageClassifier> mobilenet_v2(int64_t num_classes = 1000,
                                                     double dropout = 0.2) {
  struct Stage {
    int64_t expand_ratio, channels, blocks, stride;  // torchvision's t, c, n, s
  };
  constexpr Stage kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                               {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  // At width 1.0 make_divisible leaves every channel count as it is; it is applied anyway so the
  // code reads like torchvision's.
  int64_t in_channels = make_divisible(32);
  const int64_t last_channels = make_divisible(1280);

  auto features = std::make_unique<nn::Sequential>();
  features->add(
      std::make_unique<Conv2dNormActivation>(3, in_channels, 3, 2, 1, ActivationKind::relu6));
  for (const Stage& stage : kStages) {
    const int64_t out_channels = make_divisible(stage.channels);
    for (int64_t i = 0; i < stage.blocks; ++i) {
      features->add(std::make_unique<InvertedResidual>(
          in_channels, out_channels, i == 0 ? stage.stride : 1, stage.expand_ratio));
      in_channels = out_channels;
    }
  }
  features->add(std::make_unique<Conv2dNormActivation>(in_channels, last_channels, 1, 1, 1,
                                                       ActivationKind::relu6));

  auto classifier = std::make_unique<nn::Sequential>();
  classifier->add(std::make_unique<nn::Dropout>(dropout));
  classifier->add(std::make_unique<nn::Linear>(last_channels, num_classes));

  return std::make_unique<ImageClassifier>("MobileNetV2", std::move(features),
                                           std::make_unique<nn::AdaptiveAvgPool2d>(1, 1),
                                           std::move(classifier), PoolPlacement::functional);
}

}  // namespace fovea::models
