// ResNet-18/34/50/101/152 with torchvision's module names (conv1, bn1, relu, maxpool,
// layer1..4.{i}.conv1/bn1/…/downsample.{0,1}, avgpool, fc).
//
// The default is torchvision's "v1.5": a bottleneck strides on its 3×3 conv. ResNetOptions also
// builds the original v1 of He et al. that Keras ships (keras.applications.ResNet50): the
// bottleneck strides on its first 1×1 conv, every conv has a bias, and batch norm uses
// eps = 1.001e-5. Basic blocks (18, 34) stride on their first 3×3 conv in both variants.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "fovea/nn/activation.hpp"
#include "fovea/nn/batchnorm.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/dataflow.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/pool.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/ops/elementwise/elementwise.hpp"

namespace fovea::models {

struct ResNetOptions {
  int64_t num_classes = 1000;
  bool stride_on_first_conv = false;  // bottleneck stride on conv1 (v1) instead of conv2 (v1.5)
  bool conv_bias = false;             // a bias on every conv, as Keras' ResNets have
  double bn_eps = 1e-5;

  // The original ResNet v1 of keras.applications.
  static ResNetOptions keras_v1(int64_t num_classes = 1000) {
    ResNetOptions o;
    o.num_classes = num_classes;
    o.stride_on_first_conv = true;
    o.conv_bias = true;
    o.bn_eps = 1.001e-5;
    return o;
  }
};

namespace detail {

// Once fold_batchnorm_in_place has made a block's batch norms the identity, an inference forward
// runs each conv with its ReLU (and the residual add) as the conv's epilogue: one pass over the
// output instead of three. Training and unfolded models take the layer-by-layer path.
inline const Conv2dEpilogue kReluEpilogue{ActivationKind::relu, nullptr};

inline std::unique_ptr<nn::Conv2d> resnet_conv(int64_t in, int64_t out, int64_t kernel,
                                               int64_t stride, const ResNetOptions& options) {
  return std::make_unique<nn::Conv2d>(in, out, kernel, Conv2dAttrs::make(stride, kernel / 2),
                                      options.conv_bias);
}

// downsample: a strided 1×1 conv and batch norm that bring the identity to the block's output.
inline std::unique_ptr<nn::Sequential> resnet_downsample(int64_t in, int64_t out, int64_t stride,
                                                         const ResNetOptions& options) {
  auto downsample = std::make_unique<nn::Sequential>();
  downsample->add(resnet_conv(in, out, 1, stride, options));
  downsample->add(std::make_unique<nn::BatchNorm2d>(out, options.bn_eps));
  return downsample;
}

}  // namespace detail

// Two 3×3 convs; used by ResNet-18 and -34.
class BasicBlock : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;

  BasicBlock(int64_t in_channels, int64_t planes, int64_t stride,
             std::unique_ptr<nn::Sequential> downsample, const ResNetOptions& options) {
    conv1_ =
        &register_module("conv1", detail::resnet_conv(in_channels, planes, 3, stride, options));
    bn1_ = &register_module("bn1", std::make_unique<nn::BatchNorm2d>(planes, options.bn_eps));
    relu_ = &register_module("relu", std::make_unique<nn::Activation>(ActivationKind::relu));
    conv2_ = &register_module("conv2", detail::resnet_conv(planes, planes, 3, 1, options));
    bn2_ = &register_module("bn2", std::make_unique<nn::BatchNorm2d>(planes, options.bn_eps));
    if (downsample) downsample_ = &register_module("downsample", std::move(downsample));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (!training() && bn1_->folded() && bn2_->folded()) {
      const Tensor<float> out = conv1_->forward_fused(x, detail::kReluEpilogue);
      const Tensor<float> identity = downsample_ ? downsample_->forward(x) : x;
      return conv2_->forward_fused(out, Conv2dEpilogue{ActivationKind::relu, &identity});
    }
    Tensor<float> out = relu_->forward(bn1_->forward(conv1_->forward(x)));
    out = bn2_->forward(conv2_->forward(out));
    const Tensor<float> identity = downsample_ ? downsample_->forward(x) : x;
    return relu_->forward(add(out, identity));
  }
  int lower(nn::Dataflow& graph, int x) override {
    int y = graph.lower_child("conv1", *conv1_, x);
    y = graph.lower_child("bn1", *bn1_, y);
    y = graph.lower_child("relu", *relu_, y);
    y = graph.lower_child("conv2", *conv2_, y);
    y = graph.lower_child("bn2", *bn2_, y);
    const int identity = downsample_ ? graph.lower_child("downsample", *downsample_, x) : x;
    return graph.lower_child("relu", *relu_, graph.add(graph.path(), y, identity));
  }
  std::string kind() const override { return "BasicBlock"; }

 private:
  nn::Conv2d* conv1_ = nullptr;
  nn::BatchNorm2d* bn1_ = nullptr;
  nn::Activation* relu_ = nullptr;
  nn::Conv2d* conv2_ = nullptr;
  nn::BatchNorm2d* bn2_ = nullptr;
  nn::Sequential* downsample_ = nullptr;
};

// 1×1 reduce, 3×3, 1×1 expand by 4; used by ResNet-50, -101 and -152.
class Bottleneck : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;

  Bottleneck(int64_t in_channels, int64_t planes, int64_t stride,
             std::unique_ptr<nn::Sequential> downsample, const ResNetOptions& options) {
    const int64_t stride1 = options.stride_on_first_conv ? stride : 1;
    const int64_t stride2 = options.stride_on_first_conv ? 1 : stride;
    const int64_t out_channels = planes * kExpansion;
    conv1_ =
        &register_module("conv1", detail::resnet_conv(in_channels, planes, 1, stride1, options));
    bn1_ = &register_module("bn1", std::make_unique<nn::BatchNorm2d>(planes, options.bn_eps));
    conv2_ = &register_module("conv2", detail::resnet_conv(planes, planes, 3, stride2, options));
    bn2_ = &register_module("bn2", std::make_unique<nn::BatchNorm2d>(planes, options.bn_eps));
    conv3_ = &register_module("conv3", detail::resnet_conv(planes, out_channels, 1, 1, options));
    bn3_ = &register_module("bn3", std::make_unique<nn::BatchNorm2d>(out_channels, options.bn_eps));
    relu_ = &register_module("relu", std::make_unique<nn::Activation>(ActivationKind::relu));
    if (downsample) downsample_ = &register_module("downsample", std::move(downsample));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (!training() && bn1_->folded() && bn2_->folded() && bn3_->folded()) {
      const Tensor<float> out = conv2_->forward_fused(
          conv1_->forward_fused(x, detail::kReluEpilogue), detail::kReluEpilogue);
      const Tensor<float> identity = downsample_ ? downsample_->forward(x) : x;
      return conv3_->forward_fused(out, Conv2dEpilogue{ActivationKind::relu, &identity});
    }
    Tensor<float> out = relu_->forward(bn1_->forward(conv1_->forward(x)));
    out = relu_->forward(bn2_->forward(conv2_->forward(out)));
    out = bn3_->forward(conv3_->forward(out));
    const Tensor<float> identity = downsample_ ? downsample_->forward(x) : x;
    return relu_->forward(add(out, identity));
  }
  int lower(nn::Dataflow& graph, int x) override {
    int y = graph.lower_child("conv1", *conv1_, x);
    y = graph.lower_child("bn1", *bn1_, y);
    y = graph.lower_child("relu", *relu_, y);
    y = graph.lower_child("conv2", *conv2_, y);
    y = graph.lower_child("bn2", *bn2_, y);
    y = graph.lower_child("relu", *relu_, y);
    y = graph.lower_child("conv3", *conv3_, y);
    y = graph.lower_child("bn3", *bn3_, y);
    const int identity = downsample_ ? graph.lower_child("downsample", *downsample_, x) : x;
    return graph.lower_child("relu", *relu_, graph.add(graph.path(), y, identity));
  }
  std::string kind() const override { return "Bottleneck"; }

 private:
  nn::Conv2d* conv1_ = nullptr;
  nn::BatchNorm2d* bn1_ = nullptr;
  nn::Conv2d* conv2_ = nullptr;
  nn::BatchNorm2d* bn2_ = nullptr;
  nn::Conv2d* conv3_ = nullptr;
  nn::BatchNorm2d* bn3_ = nullptr;
  nn::Activation* relu_ = nullptr;
  nn::Sequential* downsample_ = nullptr;
};

class ResNet : public nn::Module {
 public:
  // `Block` is BasicBlock or Bottleneck; `blocks` holds the block count of layer1..layer4.
  template <class Block>
  static std::unique_ptr<ResNet> make(const std::array<int, 4>& blocks,
                                      const ResNetOptions& options) {
    std::unique_ptr<ResNet> net(new ResNet);
    net->build_stem(options);
    int64_t in_channels = 64;
    const int64_t planes[4] = {64, 128, 256, 512};
    for (size_t i = 0; i < 4; ++i) {
      auto layer = std::make_unique<nn::Sequential>();
      const int64_t out_channels = planes[i] * Block::kExpansion;
      for (int b = 0; b < blocks[i]; ++b) {
        const int64_t stride = (b == 0 && i > 0) ? 2 : 1;
        std::unique_ptr<nn::Sequential> downsample;
        if (stride != 1 || in_channels != out_channels) {
          downsample = detail::resnet_downsample(in_channels, out_channels, stride, options);
        }
        layer->add(std::make_unique<Block>(in_channels, planes[i], stride, std::move(downsample),
                                           options));
        in_channels = out_channels;
      }
      net->layers_[i] = &net->register_module("layer" + std::to_string(i + 1), std::move(layer));
    }
    net->avgpool_ = &net->register_module("avgpool", std::make_unique<nn::AdaptiveAvgPool2d>(1, 1));
    net->fc_ = &net->register_module(
        "fc", std::make_unique<nn::Linear>(512 * Block::kExpansion, options.num_classes));
    return net;
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (Tensor<float> y; run_planned(x, y)) return y;  // prepared for inference
    Tensor<float> y = !training() && bn1_->folded()
                          ? maxpool_->forward(conv1_->forward_fused(x, detail::kReluEpilogue))
                          : maxpool_->forward(relu_->forward(bn1_->forward(conv1_->forward(x))));
    for (nn::Sequential* layer : layers_)
      y = layer->forward(y);
    return fc_->forward(flatten(avgpool_->forward(y), 1));
  }
  int lower(nn::Dataflow& graph, int x) override {
    int y = graph.lower_child("conv1", *conv1_, x);
    y = graph.lower_child("bn1", *bn1_, y);
    y = graph.lower_child("relu", *relu_, y);
    y = graph.lower_child("maxpool", *maxpool_, y);
    for (size_t i = 0; i < layers_.size(); ++i)
      y = graph.lower_child("layer" + std::to_string(i + 1), *layers_[i], y);
    y = graph.lower_child("avgpool", *avgpool_, y);
    return graph.lower_child("fc", *fc_, graph.flatten(graph.path_of("flatten"), y));
  }
  std::string kind() const override { return "ResNet"; }

 private:
  ResNet() = default;

  // 7×7 stride-2 conv, batch norm, ReLU, 3×3 stride-2 max pool: a quarter of the input size.
  void build_stem(const ResNetOptions& options) {
    conv1_ = &register_module("conv1", detail::resnet_conv(3, 64, 7, 2, options));
    bn1_ = &register_module("bn1", std::make_unique<nn::BatchNorm2d>(64, options.bn_eps));
    relu_ = &register_module("relu", std::make_unique<nn::Activation>(ActivationKind::relu));
    maxpool_ =
        &register_module("maxpool", std::make_unique<nn::MaxPool2d>(Pool2dAttrs::make(3, 2, 1)));
  }

  nn::Conv2d* conv1_ = nullptr;
  nn::BatchNorm2d* bn1_ = nullptr;
  nn::Activation* relu_ = nullptr;
  nn::MaxPool2d* maxpool_ = nullptr;
  std::array<nn::Sequential*, 4> layers_{};
  nn::AdaptiveAvgPool2d* avgpool_ = nullptr;
  nn::Linear* fc_ = nullptr;
};

// ResNet-`depth` for depth 18, 34, 50, 101 or 152.
inline std::unique_ptr<ResNet> resnet(int depth, const ResNetOptions& options = {}) {
  switch (depth) {
    case 18:
      return ResNet::make<BasicBlock>({2, 2, 2, 2}, options);
    case 34:
      return ResNet::make<BasicBlock>({3, 4, 6, 3}, options);
    case 50:
      return ResNet::make<Bottleneck>({3, 4, 6, 3}, options);
    case 101:
      return ResNet::make<Bottleneck>({3, 4, 23, 3}, options);
    case 152:
      return ResNet::make<Bottleneck>({3, 8, 36, 3}, options);
  }
  fail("ResNet depth must be 18, 34, 50, 101 or 152, got ", depth);
}

}  // namespace fovea::models
