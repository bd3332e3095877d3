// EfficientNet-B0…B7 (Tan & Le 2019) as torchvision 0.14 builds them: features.0 stem,
// features.1..7 stages (each a Sequential of MBConv), features.8 1×1 head conv, avgpool,
// classifier.{0: Dropout, 1: Linear}. Widths and depths scale per variant with torchvision's
// rounding (make_divisible for channels, ceil for block counts).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "fovea/models/conv_norm_activation.hpp"
#include "fovea/models/image_classifier.hpp"
#include "fovea/models/make_divisible.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/dropout.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/squeeze_excitation.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"

namespace fovea::models {

// Stochastic depth drops whole residual branches while training and is the identity at
// inference, the only mode fovea runs; it is kept as a child so the tree reads like torch's.
class StochasticDepth : public nn::Module {
 public:
  explicit StochasticDepth(double p) : p_(p) {}
  Tensor<float> forward(const Tensor<float>& x) override { return x; }
  int lower(nn::Dataflow& graph, int x) override {
    (void)graph;
    return x;
  }
  std::string kind() const override { return "StochasticDepth"; }
  std::string describe() const override {
    std::ostringstream out;
    out << "p=" << p_ << ", mode=row";
    return out.str();
  }

 private:
  double p_;
};

// Mobile inverted bottleneck: "block" holds [expand 1×1 (if the ratio is not 1)], depthwise
// k×k, squeeze-and-excitation, linear 1×1 projection; the input is added back when the shape is
// unchanged. SiLU throughout.
class MBConv : public nn::Module {
 public:
  MBConv(int64_t in_channels, int64_t out_channels, double expand_ratio, int64_t kernel,
         int64_t stride, double stochastic_depth_prob, double bn_eps)
      : use_residual_(stride == 1 && in_channels == out_channels) {
    FOVEA_CHECK(stride == 1 || stride == 2, "MBConv stride must be 1 or 2, got ", stride);
    const int64_t expanded = make_divisible(static_cast<double>(in_channels) * expand_ratio);
    auto block = std::make_unique<nn::Sequential>();
    if (expanded != in_channels) {
      expand_ = &block->add(std::make_unique<Conv2dNormActivation>(in_channels, expanded, 1, 1, 1,
                                                                   ActivationKind::silu, bn_eps));
    }
    depthwise_ = &block->add(std::make_unique<Conv2dNormActivation>(
        expanded, expanded, kernel, stride, expanded, ActivationKind::silu, bn_eps));
    // The squeeze width follows the block's input channels, not the expanded ones.
    squeeze_ = &block->add(
        std::make_unique<nn::SqueezeExcitation>(expanded, std::max<int64_t>(1, in_channels / 4),
                                                ActivationKind::silu, ActivationKind::sigmoid));
    projection_ = &block->add(std::make_unique<Conv2dNormActivation>(expanded, out_channels, 1, 1,
                                                                     1, std::nullopt, bn_eps));
    block_ = &register_module("block", std::move(block));
    stochastic_depth_ = &register_module("stochastic_depth",
                                         std::make_unique<StochasticDepth>(stochastic_depth_prob));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (projection_->runs_fused()) {
      // Inference, folded: the expansion and the depthwise conv in one pass; stochastic depth
      // is the identity and the projection adds x itself.
      Tensor<float> y = expand_ != nullptr ? expand_->forward_into_depthwise(*depthwise_, x)
                                           : depthwise_->forward(x);
      return projection_->forward_excited(y, *squeeze_, use_residual_ ? &x : nullptr);
    }
    Tensor<float> y = block_->forward(x);
    return use_residual_ ? add(stochastic_depth_->forward(y), x) : y;
  }
  int lower(nn::Dataflow& graph, int x) override {
    const int y = graph.lower_child("block", *block_, x);
    return use_residual_ ? graph.add(graph.path(), y, x) : y;
  }
  std::string kind() const override { return "MBConv"; }

 private:
  bool use_residual_;
  nn::Sequential* block_ = nullptr;
  Conv2dNormActivation* expand_ = nullptr;  // absent when the ratio is 1
  Conv2dNormActivation* depthwise_ = nullptr;
  nn::SqueezeExcitation* squeeze_ = nullptr;
  Conv2dNormActivation* projection_ = nullptr;  // the block's last layer
  StochasticDepth* stochastic_depth_ = nullptr;
};

// The per-variant scaling of torchvision's efficientnet_b0 … efficientnet_b7.
struct EfficientNetScaling {
  double width_mult, depth_mult, dropout, bn_eps;
};

inline EfficientNetScaling efficientnet_scaling(int variant) {
  // B5–B7 were ported from TensorFlow weights and keep its batch-norm eps of 1e-3.
  constexpr EfficientNetScaling kTable[] = {
      {1.0, 1.0, 0.2, 1e-5}, {1.0, 1.1, 0.2, 1e-5}, {1.1, 1.2, 0.3, 1e-5}, {1.2, 1.4, 0.3, 1e-5},
      {1.4, 1.8, 0.4, 1e-5}, {1.6, 2.2, 0.4, 1e-3}, {1.8, 2.6, 0.5, 1e-3}, {2.0, 3.1, 0.5, 1e-3}};
  FOVEA_CHECK(variant >= 0 && variant <= 7, "EfficientNet variant must be B0 to B7, got B",
              variant);
  return kTable[variant];
}

// EfficientNet-B`variant` for variant 0 … 7.
inline std::unique_ptr<ImageClassifier> efficientnet(int variant, int64_t num_classes = 1000) {
  const EfficientNetScaling scaling = efficientnet_scaling(variant);
  struct Stage {
    double expand_ratio;
    int64_t kernel, stride, in_channels, out_channels, blocks;
  };
  // Table 1 of the paper, at B0 size.
  constexpr Stage kStages[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},
                               {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4},
                               {6, 3, 1, 192, 320, 1}};
  const auto width = [&](int64_t channels) {
    return make_divisible(static_cast<double>(channels) * scaling.width_mult);
  };
  const auto depth = [&](int64_t blocks) {
    return static_cast<int64_t>(std::ceil(static_cast<double>(blocks) * scaling.depth_mult));
  };

  int64_t total_blocks = 0;
  for (const Stage& stage : kStages)
    total_blocks += depth(stage.blocks);

  auto features = std::make_unique<nn::Sequential>();
  features->add(std::make_unique<Conv2dNormActivation>(3, width(kStages[0].in_channels), 3, 2, 1,
                                                       ActivationKind::silu, scaling.bn_eps));
  int64_t block_id = 0;
  for (const Stage& stage : kStages) {
    auto blocks = std::make_unique<nn::Sequential>();
    const int64_t out_channels = width(stage.out_channels);
    for (int64_t i = 0; i < depth(stage.blocks); ++i) {
      // Stochastic depth grows linearly from 0 to 0.2 over the network's blocks.
      const double sd_prob =
          0.2 * static_cast<double>(block_id) / static_cast<double>(total_blocks);
      blocks->add(std::make_unique<MBConv>(i == 0 ? width(stage.in_channels) : out_channels,
                                           out_channels, stage.expand_ratio, stage.kernel,
                                           i == 0 ? stage.stride : 1, sd_prob, scaling.bn_eps));
      ++block_id;
    }
    features->add(std::move(blocks));
  }
  const int64_t head_in = width(kStages[6].out_channels);
  const int64_t head_out = 4 * head_in;  // 1280 for B0
  features->add(std::make_unique<Conv2dNormActivation>(head_in, head_out, 1, 1, 1,
                                                       ActivationKind::silu, scaling.bn_eps));

  auto classifier = std::make_unique<nn::Sequential>();
  classifier->add(std::make_unique<nn::Dropout>(scaling.dropout));
  classifier->add(std::make_unique<nn::Linear>(head_out, num_classes));

  return std::make_unique<ImageClassifier>("EfficientNet", std::move(features),
                                           std::make_unique<nn::AdaptiveAvgPool2d>(1, 1),
                                           std::move(classifier), PoolPlacement::child);
}

}  // namespace fovea::models
